"""What buttons carry: each kind's value as compact JSON (Slack allows 2000 characters), and back.

Decoding re-validates everything as if typed: a forged, truncated or stale value raises
InputError("error.bad_button").
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeGuard

from bot.domain.queries import (
    MAX_LIMIT,
    Choice,
    ContactQuery,
    InputError,
    PageQuery,
    clean_identifier,
    shorten,
)
from bot.hubspot.models import State

MAX_BUTTON_VALUE = 2000
MAX_PAGE = 2**31 - 1


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
        payload["w"] = shorten(choice.label, MAX_LABEL)
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
