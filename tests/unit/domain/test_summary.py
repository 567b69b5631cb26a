"""domain/summary.py: the figures on a hand-checked data set, and what gathering under a cap keeps."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.domain.summary import gather, summarise
from bot.hubspot.models import parse_page, parse_participation
from tests.support.hand_checked import HAND_CHECKED, pages_up_to


def test_hand_checked_numbers() -> None:
    summary = summarise([parse_participation(r) for r in HAND_CHECKED])
    assert summary.records == 13
    assert dict(summary.state_counts) == {"ATTENDED": 4, "REGISTERED": 5, "NO_SHOW": 2, "CANCELLED": 2}
    assert [state for state, _ in summary.state_counts] == ["ATTENDED", "REGISTERED", "NO_SHOW", "CANCELLED"]
    assert summary.events == 7
    assert summary.attended_events == 3
    assert summary.events_with_outcome == 4
    assert summary.show_up_rate == pytest.approx(75.0)
    assert summary.average_attendance == pytest.approx(90.0)
    assert summary.events_with_percentage == 3
    assert summary.seconds_attended == 5400
    assert summary.first_at == datetime(2025, 11, 20, 12, 0, tzinfo=timezone.utc)
    assert summary.last_at == datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert summary.contact is not None
    assert summary.contact.contact_id == "101"
    assert not summary.truncated


@pytest.mark.parametrize(
    ("total", "cap", "kept", "truncated"),
    [(250, 120, 120, True), (200, 200, 200, False), (250, 200, 200, True), (90, 1000, 90, False), (0, 10, 0, False)],
)
def test_gather_says_when_the_cap_cut_the_data(total: int, cap: int, kept: int, truncated: bool) -> None:
    pages = pages_up_to(total, cap) if total else [(parse_page({"total": 0, "results": []}), [])]
    gathered = gather(pages, cap)
    assert len(gathered.records) == kept
    assert gathered.truncated is truncated
    assert gathered.total_reported == total
