"""A contact's attendance summary, computed from participation records. Pure: no I/O, no Slack.

HubSpot returns participation *records*, and one contact can hold several for the same event (REGISTERED, then
NO_SHOW once the event ended). So the summary counts records per state, but everything about events works on
distinct events:

- An event is identified by its `marketingEventId`; without one, by its name; a record with neither is an event
  of its own (we cannot tell it apart from any other).
- An event is *attended* when any of its records is ATTENDED.
- Show-up rate = attended events ÷ events registered for that have an outcome: events with an ATTENDED record,
  plus events with a NO_SHOW record and no CANCELLED one. Events that only hold a registration (not held yet:
  HubSpot turns registrations on ended events into NO_SHOW itself) and events the contact cancelled are left out,
  so an upcoming webinar or a polite cancellation does not count as a missed show-up.
- Attendance percentage and time attended are taken per event (the highest value among its records, so a
  duplicate record is not counted twice); the average is over events that report a percentage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.hubspot.models import BreakdownPage, Contact, Participation

ATTENDED = "ATTENDED"
NO_SHOW = "NO_SHOW"
CANCELLED = "CANCELLED"
# Display order for state counts; states HubSpot adds later follow, alphabetically.
STATE_ORDER = ("ATTENDED", "REGISTERED", "NO_SHOW", "CANCELLED", "EMPTY")


@dataclass(frozen=True)
class Gathered:
    """Every record we fetched for one contact (up to a cap), and whether the cap cut the data."""

    records: tuple[Participation, ...]
    total_reported: int  # HubSpot's `total` on the first page: records matching the filter, all pages
    truncated: bool

    @property
    def contact(self) -> Contact | None:
        return BreakdownPage(total=len(self.records), results=self.records, next_after=None).contact


def gather(pages: Iterable[tuple[BreakdownPage, Sequence[Participation]]], cap: int) -> Gathered:
    """Drain `HubSpotClient.iter_participations(...)`; `truncated` when records remain beyond `cap`."""
    records: list[Participation] = []
    total_reported = 0
    truncated = False
    for index, (page, kept) in enumerate(pages):
        if index == 0:
            total_reported = page.total
        records.extend(kept)
        # More on this page than we kept, or a further page we will not fetch because the cap is reached.
        truncated = len(kept) < len(page.results) or (len(records) >= cap and bool(page.next_after))
    return Gathered(records=tuple(records), total_reported=max(total_reported, len(records)), truncated=truncated)


def event_key(participation: Participation) -> tuple[str, str]:
    """How records are grouped into events: marketingEventId, else name, else the record itself."""
    if participation.event.event_id:
        return ("id", participation.event.event_id)
    if participation.event.name:
        return ("name", participation.event.name)
    return ("record", participation.participation_id or str(id(participation)))


@dataclass(frozen=True)
class Summary:
    records: int
    state_counts: tuple[tuple[str, int], ...]  # (raw state or "EMPTY", records), in STATE_ORDER
    events: int
    attended_events: int
    # Denominator of the show-up rate (see the module docstring); 0 when no event has an outcome yet.
    events_with_outcome: int
    average_attendance: float | None
    events_with_percentage: int
    seconds_attended: int
    first_at: datetime | None
    last_at: datetime | None
    contact: Contact | None = None
    total_reported: int = 0
    truncated: bool = False

    @property
    def show_up_rate(self) -> float | None:
        """Percentage 0–100, or None when no registered event has an outcome yet."""
        if not self.events_with_outcome:
            return None
        return 100.0 * self.attended_events / self.events_with_outcome


def summarise(records: Sequence[Participation], *, total_reported: int = 0, truncated: bool = False) -> Summary:
    states = Counter(p.state or "EMPTY" for p in records)
    ordered = [(s, states[s]) for s in STATE_ORDER if states[s]]
    ordered += sorted((s, n) for s, n in states.items() if s not in STATE_ORDER)

    by_event: dict[tuple[str, str], list[Participation]] = {}
    for participation in records:
        by_event.setdefault(event_key(participation), []).append(participation)

    attended = with_outcome = with_percentage = 0
    percentage_sum = 0.0
    seconds = 0
    for group in by_event.values():
        group_states = {p.state for p in group}
        if ATTENDED in group_states:
            attended += 1
            with_outcome += 1
        elif NO_SHOW in group_states and CANCELLED not in group_states:
            with_outcome += 1
        percentages = [p.attendance_percentage for p in group if p.attendance_percentage is not None]
        if percentages:
            with_percentage += 1
            percentage_sum += max(percentages)
        durations = [p.attendance_duration_seconds for p in group if p.attendance_duration_seconds is not None]
        if durations:
            seconds += max(durations)

    moments = [p.occurred_at for p in records if p.occurred_at is not None]
    gathered = Gathered(records=tuple(records), total_reported=total_reported, truncated=truncated)
    return Summary(
        records=len(records),
        state_counts=tuple(ordered),
        events=len(by_event),
        attended_events=attended,
        events_with_outcome=with_outcome,
        average_attendance=percentage_sum / with_percentage if with_percentage else None,
        events_with_percentage=with_percentage,
        seconds_attended=seconds,
        first_at=min(moments) if moments else None,
        last_at=max(moments) if moments else None,
        contact=gathered.contact,
        total_reported=max(total_reported, len(records)),
        truncated=truncated,
    )


def summarise_gathered(gathered: Gathered) -> Summary:
    return summarise(gathered.records, total_reported=gathered.total_reported, truncated=gathered.truncated)
