"""A hand-checked set of participations for the summary and the export: every figure worked out by hand."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bot.hubspot.models import parse_page
from tests.support.flows import many_records
from tests.support.hubspot import participation


def ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, 12, 0, tzinfo=timezone.utc).timestamp() * 1000)


def record(
    index: int, event_id: str | None, state: str, when: int, pct: Any = None, secs: Any = None
) -> dict[str, Any]:
    raw = participation(index, state=state, occurred_at=when, percentage=pct, duration=secs, name=f"Event {event_id}")
    raw["associations"]["marketingEvent"]["marketingEventId"] = event_id
    if event_id is None:
        raw["associations"]["marketingEvent"]["name"] = "Roadshow"
    return raw


# Hand-checked: 13 records over 7 events.
#   A: REGISTERED, then ATTENDED 80% 3000 s            → attended
#   B: REGISTERED, then NO_SHOW                         → registered, outcome: no-show
#   C: ATTENDED 90% 1800 s + duplicate ATTENDED 60% 1200 s → attended once; per event 90%, 1800 s
#   D: REGISTERED only (upcoming)                       → left out of the show-up rate
#   E: CANCELLED only                                   → left out
#   F: REGISTERED, CANCELLED, then NO_SHOW              → cancelled: left out
#   "Roadshow" (no marketingEventId, grouped by name): REGISTERED, then ATTENDED 100% 600 s → attended
# States: ATTENDED 4, REGISTERED 5, NO_SHOW 2, CANCELLED 2. Show-up rate 3 / 4 = 75 %.
# Average attendance (80 + 90 + 100) / 3 = 90 %. Time attended 3000 + 1800 + 600 = 5400 s = 1h 30m.
# First participation 2025-11-20 (Roadshow registration), most recent 2026-06-01 (F's no-show).
HAND_CHECKED = [
    record(1, "A", "REGISTERED", ms(2026, 1, 10)),
    record(2, "A", "ATTENDED", ms(2026, 1, 15), "80", 3000),
    record(3, "B", "REGISTERED", ms(2026, 2, 1)),
    record(4, "B", "NO_SHOW", ms(2026, 2, 10)),
    record(5, "C", "ATTENDED", ms(2026, 3, 5), "90", 1800),
    record(6, "C", "ATTENDED", ms(2026, 3, 5), "60", 1200),
    record(7, "D", "REGISTERED", ms(2026, 4, 1)),
    record(8, "E", "CANCELLED", ms(2026, 5, 1)),
    record(9, "F", "REGISTERED", ms(2026, 5, 20)),
    record(10, "F", "CANCELLED", ms(2026, 5, 21)),
    record(11, "F", "NO_SHOW", ms(2026, 6, 1)),
    record(12, None, "ATTENDED", ms(2025, 12, 1), "100", 600),
    record(13, None, "REGISTERED", ms(2025, 11, 20)),
]


def breakdown_pages(total: int, page_size: int = 100) -> list[dict[str, Any]]:
    records = many_records(total)
    pages = []
    for offset in range(0, total, page_size):
        body: dict[str, Any] = {"total": total, "results": records[offset : offset + page_size]}
        if offset + page_size < total:
            body["paging"] = {"next": {"after": f"c{offset + page_size}"}}
        pages.append(body)
    return pages


def pages_up_to(total: int, cap: int) -> list[tuple[Any, list[Any]]]:
    """What HubSpotClient.iter_participations yields, without HTTP."""
    out: list[tuple[Any, list[Any]]] = []
    seen = 0
    for body in breakdown_pages(total):
        if seen >= cap:
            break
        page = parse_page(body)
        kept = list(page.results[: cap - seen])
        seen += len(kept)
        out.append((page, kept))
    return out
