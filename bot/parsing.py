"""Parsing what users type and what buttons carry. Pure functions, no I/O.

Errors are `InputError(key, **values)` with a catalogue key, so the listener can say them in the user's
language.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from bot.hubspot.models import State

MAX_COMMAND_LENGTH = 1000
MAX_IDENTIFIER_LENGTH = 254
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_BUTTON_VALUE = 2000
MAX_PAGE = 2**31 - 1

STATE_ALIASES: dict[str, State] = {
    "registered": State.REGISTERED,
    "attended": State.ATTENDED,
    "cancelled": State.CANCELLED,
    "canceled": State.CANCELLED,
    "no_show": State.NO_SHOW,
    "no-show": State.NO_SHOW,
    "noshow": State.NO_SHOW,
}
HELP_WORDS = frozenset({"help", "-h", "--help", "?", "ajuda"})

_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$", re.IGNORECASE)
_SLACK_ESCAPE = re.compile(r"^<([@#!])[^>]*>$")
_LINK = re.compile(r"^<([^|>]+)(?:\|([^>]*))?>$")
_EMAIL = re.compile(r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$")
_CONTACT_ID = re.compile(r"^[0-9]{1,20}$")
_LIMIT = re.compile(r"^(?:limit|--limit)=(.*)$", re.IGNORECASE)

Action = Literal["page", "summary"]


class InputError(ValueError):
    """Bad input: `key` names the catalogue text, `values` fill it."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class HelpRequest:
    """Empty text or `help`."""


@dataclass(frozen=True)
class PageQuery:
    """Everything needed to fetch and render one page; it is what a Next button carries."""

    identifier: str
    state: State | None = None
    limit: int = DEFAULT_LIMIT
    after: str | None = None
    page: int = 1

    @property
    def first_index(self) -> int:
        """1-based position of this page's first result (pages keep the same limit)."""
        return (self.page - 1) * self.limit + 1


@dataclass(frozen=True)
class CommandRequest:
    query: PageQuery
    action: Action = "page"


def clean_identifier(raw: str) -> str:
    """Strip Slack's `<mailto:x|x>` wrapper and check the result is an email or a numeric contact id."""
    token = raw.strip()
    mailto = _MAILTO.match(token)
    if mailto:
        token = mailto.group(1).strip()
    elif _SLACK_ESCAPE.match(token):
        if token.startswith("<@"):
            raise InputError("command.user_mention")
        raise InputError("command.bad_identifier", identifier=_shorten(token))
    else:
        link = _LINK.match(token)
        if link:  # Slack auto-linked something; the label is what the user typed
            token = (link.group(2) or link.group(1)).strip()
    if len(token) > MAX_IDENTIFIER_LENGTH or not (_EMAIL.match(token) or _CONTACT_ID.match(token)):
        raise InputError("command.bad_identifier", identifier=_shorten(token))
    return token


def parse_state(word: str) -> State:
    state = STATE_ALIASES.get(word.strip().lower())
    if state is None:
        raise InputError("command.unknown_state", state=_shorten(word))
    return state


def _visible(text: str) -> str:
    """Drop invisible format characters (zero-width spaces, bidi overrides, BOM) that pasted text carries:
    they would make a valid email look unknown to HubSpot, and can reverse how an echoed answer reads."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def parse_command(text: str | None) -> HelpRequest | CommandRequest:
    """`<email-or-id> [state] [limit=N] [summary]` in any order after the identifier."""
    raw = _visible(text or "").replace("\u00a0", " ").strip()
    if len(raw) > MAX_COMMAND_LENGTH:
        raise InputError("command.too_long", length=len(raw))
    words = raw.split()
    if not words or words[0].lower() in HELP_WORDS:
        return HelpRequest()
    identifier = clean_identifier(words[0])
    state: State | None = None
    limit = DEFAULT_LIMIT
    action: Action = "page"
    for word in words[1:]:
        limit_match = _LIMIT.match(word)
        if limit_match:
            limit = parse_limit(limit_match.group(1))
        elif word.lower() == "summary" and action == "page":
            action = "summary"
        elif word.lower() in STATE_ALIASES and state is None:
            state = STATE_ALIASES[word.lower()]
        elif state is None and not word.isdigit() and "=" not in word:
            raise InputError("command.unknown_state", state=_shorten(word))
        else:
            raise InputError("command.too_many_words", word=_shorten(word))
    return CommandRequest(PageQuery(identifier=identifier, state=state, limit=limit), action)


def parse_limit(raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InputError("command.bad_limit", value=_shorten(raw))
    return int(value)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- button values ------------------------------------------------------------------------------------


def encode_query(query: PageQuery) -> str:
    """Compact JSON for a button `value` (Slack allows 2000 characters)."""
    payload: dict[str, Any] = {"i": query.identifier, "l": query.limit, "p": query.page}
    if query.state is not None:
        payload["s"] = query.state.value
    if query.after:
        payload["a"] = query.after
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def fits_in_button(query: PageQuery) -> bool:
    return len(encode_query(query)) <= MAX_BUTTON_VALUE


def _button_payload(value: str | None) -> dict[str, Any]:
    """The JSON object a button carries; anything else (forged, truncated, stale format) is refused."""
    if not value or len(value) > MAX_BUTTON_VALUE:
        raise InputError("error.bad_button")
    try:
        payload = json.loads(value)
    except ValueError:
        raise InputError("error.bad_button") from None
    if not isinstance(payload, dict):
        raise InputError("error.bad_button")
    return payload


def _contact_fields(payload: dict[str, Any]) -> tuple[str, State | None]:
    """The contact (`i`, re-validated as if typed) and optional state (`s`) every button carries."""
    identifier, state = payload.get("i"), payload.get("s")
    if not isinstance(identifier, str) or not (
        state is None or (isinstance(state, str) and state in State.__members__)
    ):
        raise InputError("error.bad_button")
    try:
        return clean_identifier(identifier), State[state] if state else None
    except InputError:
        raise InputError("error.bad_button") from None


def _whole_number(value: object, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def decode_query(value: str | None) -> PageQuery:
    """Inverse of `encode_query`; anything forged or stale raises InputError('error.bad_button')."""
    payload = _button_payload(value)
    identifier, state = _contact_fields(payload)
    limit, page, after = payload.get("l"), payload.get("p"), payload.get("a")
    if not _whole_number(limit, 1, MAX_LIMIT) or not _whole_number(page, 1, MAX_PAGE):
        raise InputError("error.bad_button")
    if not (after is None or (isinstance(after, str) and after != "")):
        raise InputError("error.bad_button")
    return PageQuery(identifier=identifier, state=state, limit=limit, after=after, page=page)


@dataclass(frozen=True)
class ContactQuery:
    """Which records a Summary or Export CSV button covers: a contact and an optional state, nothing else."""

    identifier: str
    state: State | None = None


def encode_contact_query(query: ContactQuery) -> str:
    """Compact JSON for the Summary / Export CSV buttons: `{"i": identifier, "s": state?}` (≤ ~280 chars)."""
    payload: dict[str, Any] = {"i": query.identifier}
    if query.state is not None:
        payload["s"] = query.state.value
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def decode_contact_query(value: str | None) -> ContactQuery:
    """Inverse of `encode_contact_query`; anything forged raises InputError('error.bad_button')."""
    identifier, state = _contact_fields(_button_payload(value))
    return ContactQuery(identifier=identifier, state=state)
