"""Typed, defensive parsing of HubSpot's participations breakdown.

HubSpot's spec marks many fields required; observed responses omit or null them. Every field but `total` and
`results` may be missing here, and a missing one becomes `None`, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class State(str, Enum):
    """Filter values accepted by HubSpot's `state` query parameter."""

    REGISTERED = "REGISTERED"
    ATTENDED = "ATTENDED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"


class MalformedResponse(ValueError):
    """The body is JSON but not the shape of a breakdown page."""


@dataclass(frozen=True)
class Contact:
    contact_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None

    @property
    def full_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or None


@dataclass(frozen=True)
class MarketingEvent:
    event_id: str | None
    name: str | None
    external_account_id: str | None
    external_event_id: str | None


@dataclass(frozen=True)
class Participation:
    participation_id: str | None
    created_at: datetime | None
    contact: Contact
    event: MarketingEvent
    # Raw attendance state: one of State, "EMPTY", or a value HubSpot adds later.
    state: str | None
    occurred_at: datetime | None
    attendance_percentage: float | None
    attendance_duration_seconds: int | None


@dataclass(frozen=True)
class BreakdownPage:
    total: int
    results: tuple[Participation, ...]
    next_after: str | None

    @property
    def contact(self) -> Contact | None:
        """The contact the page is about (the first result that names one)."""
        for participation in self.results:
            if participation.contact.email or participation.contact.full_name:
                return participation.contact
        return self.results[0].contact if self.results else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def parse_timestamp(value: Any) -> datetime | None:
    """Epoch milliseconds (HubSpot's usual form) or an ISO 8601 string (one guide shows that)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        try:
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        raw = value.strip()
        if not raw:
            return None
        if raw.lstrip("-").isdigit():
            return parse_timestamp(int(raw))
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _percentage(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        return None
    return number if math.isfinite(number) and 0 <= number <= 1000 else None


def _seconds(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and 0 <= number < 10**9 else None


def parse_participation(raw: Any) -> Participation:
    item = _mapping(raw)
    associations = _mapping(item.get("associations"))
    contact = _mapping(associations.get("contact"))
    event = _mapping(associations.get("marketingEvent"))
    properties = _mapping(item.get("properties"))
    state = _text(properties.get("attendanceState"))
    return Participation(
        participation_id=_text(item.get("id")),
        created_at=parse_timestamp(item.get("createdAt")),
        contact=Contact(
            contact_id=_text(contact.get("contactId")),
            email=_text(contact.get("email")),
            first_name=_text(contact.get("firstname")),
            last_name=_text(contact.get("lastname")),
        ),
        event=MarketingEvent(
            event_id=_text(event.get("marketingEventId")),
            name=_text(event.get("name")),
            external_account_id=_text(event.get("externalAccountId")),
            external_event_id=_text(event.get("externalEventId")),
        ),
        state=state.upper() if state else None,
        occurred_at=parse_timestamp(properties.get("occurredAt")),
        attendance_percentage=_percentage(properties.get("attendancePercentage")),
        attendance_duration_seconds=_seconds(properties.get("attendanceDurationSeconds")),
    )


def parse_page(body: Any) -> BreakdownPage:
    """Parse a 200 body; raise MalformedResponse if it lacks `results`."""
    if not isinstance(body, Mapping):
        raise MalformedResponse("body is not a JSON object")
    results = body.get("results")
    if not isinstance(results, list):
        raise MalformedResponse("body has no 'results' list")
    parsed = tuple(parse_participation(item) for item in results if isinstance(item, Mapping))
    total_raw = body.get("total")
    total = total_raw if isinstance(total_raw, int) and not isinstance(total_raw, bool) else len(parsed)
    after = _text(_mapping(_mapping(body.get("paging")).get("next")).get("after"))
    return BreakdownPage(total=max(total, len(parsed)), results=parsed, next_after=after)


# -- contact search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactMatch:
    """One contact found by CRM search: enough to tell it apart from its namesakes."""

    contact_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None

    @property
    def full_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or None


@dataclass(frozen=True)
class SearchResult:
    """`total` is how many contacts matched in all; `matches` the first of them (the requested limit)."""

    total: int
    matches: tuple[ContactMatch, ...]


def parse_search(body: Any) -> SearchResult:
    """Parse a contact search 200 body; results without an all-digit id are dropped (no lookup could use them)."""
    if not isinstance(body, Mapping):
        raise MalformedResponse("body is not a JSON object")
    results = body.get("results")
    if not isinstance(results, list):
        raise MalformedResponse("body has no 'results' list")
    matches: list[ContactMatch] = []
    for item in results:
        raw = _mapping(item)
        contact_id = _text(raw.get("id"))
        if contact_id is None or not contact_id.isdigit() or len(contact_id) > 20:
            continue
        properties = _mapping(raw.get("properties"))
        matches.append(
            ContactMatch(
                contact_id=contact_id,
                email=_text(properties.get("email")),
                first_name=_text(properties.get("firstname")),
                last_name=_text(properties.get("lastname")),
                company=_text(properties.get("company")),
            )
        )
    total_raw = body.get("total")
    total = total_raw if isinstance(total_raw, int) and not isinstance(total_raw, bool) else len(matches)
    return SearchResult(total=max(total, len(matches)), matches=tuple(matches))
