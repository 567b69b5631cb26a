"""domain/export.py: the CSV parsed back with the csv module, every text column safe from formula injection."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.export import COLUMNS, export_filename, iso_utc, neutralise, to_csv, to_csv_bytes
from bot.hubspot.models import Contact, MarketingEvent, Participation, State, parse_participation
from tests.support.flows import csv_rows
from tests.support.hubspot import participation


def make(**overrides: Any) -> Participation:
    values: dict[str, Any] = {
        "participation_id": "9001",
        "created_at": datetime(2026, 10, 9, 18, 43, 59, 508000, tzinfo=timezone.utc),
        "contact": Contact("101", "jane@example.com", "Jane", "Doe"),
        "event": MarketingEvent("ev1", "Webinar", "acct-1", "ext-1"),
        "state": "ATTENDED",
        "occurred_at": datetime(2026, 10, 9, 17, 0, tzinfo=timezone.utc),
        "attendance_percentage": 87.0,
        "attendance_duration_seconds": 3120,
    }
    values.update(overrides)
    return Participation(**values)


def test_header_and_a_plain_row() -> None:
    raw = participation(7, percentage="87.5", duration=3120, occurred_at=1791571437115)
    rows = csv_rows(to_csv_bytes([parse_participation(raw)]))
    assert rows[0] == list(COLUMNS)
    assert rows[0] == [
        "contact email", "contact id", "first name", "last name", "event name", "marketingEventId",
        "externalEventId", "externalAccountId", "state", "occurredAt", "createdAt", "attendance percentage",
        "attendance duration seconds", "participation id",
    ]  # fmt: skip
    assert rows[1] == [
        "jane@example.com", "101", "Jane", "Doe", "Webinar 7", "ev7", "ext-7", "acct-1", "ATTENDED",
        "2026-10-09T18:43:57.115Z", "2026-10-09T18:43:59.508Z", "87.5", "3120", "90007",
    ]  # fmt: skip


def test_missing_values_are_empty_cells() -> None:
    bare = parse_participation({"id": "1", "properties": {"attendanceState": "REGISTERED"}})
    assert csv_rows(to_csv_bytes([bare]))[1] == ["", "", "", "", "", "", "", "", "REGISTERED", "", "", "", "", "1"]


def test_awkward_values_round_trip() -> None:
    awkward = make(
        contact=Contact("101", "o'brien@example.com", 'Ana "Nana", Jr.', "Ñúñez\nSão Paulo 🎉"),
        event=MarketingEvent("ev,1", 'Q&A "Live", part 1\r\nDay 2', "acct;1", "ext\t1"),
    )
    rows = csv_rows(to_csv_bytes([awkward]))
    assert rows[1][:8] == [
        "o'brien@example.com", "101", 'Ana "Nana", Jr.', "Ñúñez\nSão Paulo 🎉", 'Q&A "Live", part 1\r\nDay 2',
        "ev,1", "ext\t1", "acct;1",
    ]  # fmt: skip
    assert len(rows) == 2


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(trigger: str) -> None:
    payload = trigger + 'HYPERLINK("https://evil.example","click")'
    row = csv_rows(to_csv_bytes([make(contact=Contact("101", "jane@example.com", payload, payload))]))[1]
    assert row[2] == "'" + payload
    assert row[3] == "'" + payload


def test_injection_in_every_text_column() -> None:
    evil = "=1+2"
    hostile = make(
        participation_id=evil,
        contact=Contact(evil, evil, evil, evil),
        event=MarketingEvent(evil, evil, evil, evil),
        state=evil,
    )
    row = csv_rows(to_csv_bytes([hostile]))[1]
    text_columns = [i for i, name in enumerate(COLUMNS) if name not in {"occurredAt", "createdAt"}]
    text_columns = [i for i in text_columns if "attendance" not in COLUMNS[i]]
    assert all(row[i] == "'=1+2" for i in text_columns)
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_lone_surrogates_from_hubspot_do_not_break_the_file() -> None:
    broken = make(event=MarketingEvent("ev1", "Bad \ud800 name", None, None))
    assert csv_rows(to_csv_bytes([broken]))[1][4] == "Bad ? name"


text_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(first=text_values, last=text_values, name=text_values)
def test_any_text_round_trips(first: str, last: str, name: str) -> None:
    record = make(contact=Contact("101", "jane@example.com", first, last), event=MarketingEvent("e", name, "a", "x"))
    row = csv_rows(to_csv_bytes([record]))[1]
    assert row[2] == neutralise(first)
    assert row[3] == neutralise(last)
    assert row[4] == neutralise(name)


def test_timestamps_are_iso_8601_utc() -> None:
    from datetime import timedelta

    local = datetime(2026, 3, 1, 9, 30, 5, 7000, tzinfo=timezone(timedelta(hours=-3)))
    assert iso_utc(local) == "2026-03-01T12:30:05.007Z"
    assert iso_utc(None) == ""


def test_filename_is_safe_and_says_what_it_holds() -> None:
    day = datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert export_filename("jane+x@example.com", None, day) == "participations-jane+x@example.com-2026-11-28.csv"
    assert export_filename("12345", State.NO_SHOW, day) == "participations-12345-no_show-2026-11-28.csv"
    assert "/" not in export_filename("../../etc/passwd@x.y", None, day)


def test_crlf_line_endings() -> None:
    assert to_csv([make()]).count("\r\n") == 2
