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
MAX_NAME_LENGTH = 100
MAX_CHOICES = 5  # contacts offered as buttons when a name (or a message) matches several

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
# Characters a person's name may hold besides letters, marks and digits: O'Brien, Anne-Marie, J. R. R.
_NAME_PUNCTUATION = frozenset("'’.-")

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


@dataclass(frozen=True)
class NameSearch:
    """`/participations <name> [state] [limit=N] [summary]`: find the contact first, then do as for an email."""

    name: str
    state: State | None = None
    limit: int = DEFAULT_LIMIT
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


def parse_command(text: str | None) -> HelpRequest | CommandRequest | NameSearch:
    """`<email-or-id-or-name> [state] [limit=N] [summary]`, the options in any order.

    An email (plain or `<mailto:…>`) or an all-digit id is looked up directly and stands alone; anything else that
    reads as a person's name is searched for. A name never reaches the breakdown endpoint as an identifier.
    """
    raw = _visible(text or "").replace("\u00a0", " ").strip()
    if len(raw) > MAX_COMMAND_LENGTH:
        raise InputError("command.too_long", length=len(raw))
    words = raw.split()
    if not words or words[0].lower() in HELP_WORDS:
        return HelpRequest()
    state: State | None = None
    limit = DEFAULT_LIMIT
    action: Action = "page"
    identifier: str | None = None
    name_words: list[str] = []
    extra: str | None = None  # the first word that fits nothing, once the contact is known
    for word in words:
        limit_match = _LIMIT.match(word)
        if limit_match:
            limit = parse_limit(limit_match.group(1))
        elif word.lower() == "summary" and action == "page":
            action = "summary"
        elif word.lower() in STATE_ALIASES and state is None:
            state = STATE_ALIASES[word.lower()]
        elif word.lower() in STATE_ALIASES or word.lower() == "summary":  # a second one
            extra = extra or word
        elif _names_contact_directly(word):
            if identifier is not None or name_words:
                extra = extra or word
            else:
                identifier = clean_identifier(word)
        elif identifier is None and _is_name_word(word):
            name_words.append(word)
        elif identifier is None and not name_words:
            clean_identifier(word)  # raises the right answer: a Slack mention, a channel, not an address…
        else:
            extra = extra or word
    if extra is not None:
        if extra.startswith("<"):
            clean_identifier(extra)  # a Slack user or channel gets its own answer
        if state is None and not extra.isdigit() and "=" not in extra and identifier is not None:
            raise InputError("command.unknown_state", state=_shorten(extra))
        if identifier is None and not _is_name_word(extra) and not _names_contact_directly(extra):
            raise InputError("command.bad_identifier", identifier=_shorten(extra))
        raise InputError("command.too_many_words", word=_shorten(extra))
    if identifier is not None:
        return CommandRequest(PageQuery(identifier=identifier, state=state, limit=limit), action)
    if not name_words:  # only options: say what is missing
        raise InputError("command.no_contact")
    name = " ".join(name_words)
    if len(name) > MAX_NAME_LENGTH:
        raise InputError("command.name_too_long", length=len(name), limit=MAX_NAME_LENGTH)
    return NameSearch(name=name, state=state, limit=limit, action=action)


def _names_contact_directly(word: str) -> bool:
    """An email, a Slack-wrapped anything (`<mailto:…>`, `<@U…>`), or an all-digit id: never part of a name."""
    return "@" in word or word.startswith("<") or _CONTACT_ID.match(word) is not None


def _is_name_word(word: str) -> bool:
    """Letters (any script), combining marks, digits and a little punctuation, with at least one letter.

    Emoji, Slack markup, slashes, `=` and the like are not a name: they get the usual clear answer instead of a
    search that could only find nothing.
    """
    if not any(char.isalpha() for char in word):
        return False
    return all(
        char.isalnum() or unicodedata.category(char).startswith("M") or char in _NAME_PUNCTUATION for char in word
    )


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


@dataclass(frozen=True)
class Choice:
    """What a choice button carries: the contact, what was typed with its name, and where the answer goes.

    `root` is the thread to post in (a message shortcut's message), None to post in the channel; `label` is who
    the button shows, so the choice message can say who was chosen without another lookup.
    """

    identifier: str
    state: State | None = None
    limit: int = DEFAULT_LIMIT
    action: Action = "page"
    root: str | None = None
    label: str = ""

    @property
    def query(self) -> PageQuery:
        return PageQuery(identifier=self.identifier, state=self.state, limit=self.limit)


MAX_LABEL = 150
_MESSAGE_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,8}$")


def encode_choice(choice: Choice) -> str:
    """Compact JSON for a choice button: `i`, `l`, and `s`, `m` (summary), `r` (thread), `w` (label) when set."""
    payload: dict[str, Any] = {"i": choice.identifier, "l": choice.limit}
    if choice.state is not None:
        payload["s"] = choice.state.value
    if choice.action == "summary":
        payload["m"] = "summary"
    if choice.root:
        payload["r"] = choice.root
    if choice.label:
        payload["w"] = _shorten(choice.label, MAX_LABEL)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def decode_choice(value: str | None) -> Choice:
    """Inverse of `encode_choice`; anything forged raises InputError('error.bad_button')."""
    payload = _button_payload(value)
    identifier, state = _contact_fields(payload)
    limit, action, root, label = payload.get("l"), payload.get("m", "page"), payload.get("r"), payload.get("w", "")
    if not _whole_number(limit, 1, MAX_LIMIT) or action not in ("page", "summary"):
        raise InputError("error.bad_button")
    if not (root is None or (isinstance(root, str) and _MESSAGE_TS.match(root))):
        raise InputError("error.bad_button")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise InputError("error.bad_button")
    return Choice(identifier, state, limit, "summary" if action == "summary" else "page", root, label)


# -- email addresses in a message ----------------------------------------------------------------------------

_MAILTO_LINK = re.compile(r"<mailto:([^|>\s]+)(?:\|[^>]*)?>", re.IGNORECASE)
# Running text is cut into words at spaces and the punctuation that surrounds addresses in prose and markup;
# a word that is an address once its edges are trimmed counts. (A search through the whole text could backtrack
# quadratically on a crafted message; words keep it linear.)
_WORD_BREAKS = re.compile(r"[\s<>()\[\]{},;:\"!?|*`]+")
_WORD_EDGES = ".'’_~"
_ADDRESS = re.compile(r"[A-Za-z0-9_%+-][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MAX_SCANNED_TEXT = 40_000  # a message holds at most ~40k characters; blocks are walked up to this much text


def emails_in_message(message: Any) -> list[str]:
    """Every distinct email address a Slack message mentions, in order of appearance (case-insensitively
    distinct): in `text` (plain or as `<mailto:…|…>` links), in its blocks (rich_text `link` elements with a
    `mailto:` url, and any text) and in legacy attachments (text, fields). Each one passes `clean_identifier`, like
    a typed one."""
    texts: list[str] = []
    if isinstance(message, dict):
        if isinstance(message.get("text"), str):
            texts.append(message["text"])
        _collect_block_texts(message.get("blocks"), texts, depth=0)
        _collect_block_texts(message.get("attachments"), texts, depth=0)  # lead alerts and form notifications
    found: list[str] = []
    seen: set[str] = set()
    budget = MAX_SCANNED_TEXT
    for text in texts:
        text = _visible(text[:budget])
        budget -= len(text)
        for candidate in _emails_in_text(text):
            try:
                email = clean_identifier(candidate)
            except InputError:
                continue
            if "@" in email and email.lower() not in seen:
                seen.add(email.lower())
                found.append(email)
        if budget <= 0:
            break
    return found


def _emails_in_text(text: str) -> list[str]:
    """Mailto links first where they stand, then plain addresses (unescaped from Slack's `&lt;…&gt;`)."""
    found: list[str] = []
    position = 0
    for link in _MAILTO_LINK.finditer(text):
        found += _plain_emails(text[position : link.start()])
        found.append(link.group(1))
        position = link.end()
    found += _plain_emails(text[position:])
    return found


def _plain_emails(text: str) -> list[str]:
    unescaped = text.replace("&lt;", " ").replace("&gt;", " ").replace("&amp;", " ")
    words = (word.strip(_WORD_EDGES) for word in _WORD_BREAKS.split(unescaped) if "@" in word)
    return [word for word in words if len(word) <= MAX_IDENTIFIER_LENGTH and _ADDRESS.fullmatch(word)]


# Where a block or a legacy attachment keeps what a reader sees (attachment fields hold theirs in `value`).
_TEXT_KEYS = frozenset({"text", "value", "title", "pretext", "fallback"})


def _collect_block_texts(node: Any, texts: list[str], depth: int) -> None:
    if depth > 12:  # rich_text nests a few levels; anything deeper is not a message Slack sent
        return
    if isinstance(node, list):
        for item in node[:200]:
            _collect_block_texts(item, texts, depth + 1)
    elif isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and url.lower().startswith("mailto:"):
            texts.append(f"<{url}>")
        texts.extend(value for key, value in node.items() if key in _TEXT_KEYS and isinstance(value, str))
        for key, value in node.items():
            if key != "url" and isinstance(value, (list, dict)):
                _collect_block_texts(value, texts, depth + 1)
