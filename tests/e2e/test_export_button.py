"""CSV export: content parsed back with the csv module, injection neutralised, and the upload into the thread."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.domain.export import COLUMNS, export_filename, iso_utc, neutralise, to_csv, to_csv_bytes
from bot.hubspot.models import Contact, MarketingEvent, Participation, State, parse_participation
from bot.render.blocks import NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from tests.conftest import Bot
from tests.support.fakes import FakeHubSpot, FakeSlack, participation
from tests.support.flows import FIRST_TS, button_ids, click, ephemeral, many_records, replaced, run_command


def parse_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the file as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


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
    rows = parse_back(to_csv_bytes([parse_participation(raw)]))
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
    assert parse_back(to_csv_bytes([bare]))[1] == ["", "", "", "", "", "", "", "", "REGISTERED", "", "", "", "", "1"]


def test_awkward_values_round_trip() -> None:
    awkward = make(
        contact=Contact("101", "o'brien@example.com", 'Ana "Nana", Jr.', "Ñúñez\nSão Paulo 🎉"),
        event=MarketingEvent("ev,1", 'Q&A "Live", part 1\r\nDay 2', "acct;1", "ext\t1"),
    )
    rows = parse_back(to_csv_bytes([awkward]))
    assert rows[1][:8] == [
        "o'brien@example.com", "101", 'Ana "Nana", Jr.', "Ñúñez\nSão Paulo 🎉", 'Q&A "Live", part 1\r\nDay 2',
        "ev,1", "ext\t1", "acct;1",
    ]  # fmt: skip
    assert len(rows) == 2


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(trigger: str) -> None:
    payload = trigger + 'HYPERLINK("https://evil.example","click")'
    row = parse_back(to_csv_bytes([make(contact=Contact("101", "jane@example.com", payload, payload))]))[1]
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
    row = parse_back(to_csv_bytes([hostile]))[1]
    text_columns = [i for i, name in enumerate(COLUMNS) if name not in {"occurredAt", "createdAt"}]
    text_columns = [i for i in text_columns if "attendance" not in COLUMNS[i]]
    assert all(row[i] == "'=1+2" for i in text_columns)
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_lone_surrogates_from_hubspot_do_not_break_the_file() -> None:
    broken = make(event=MarketingEvent("ev1", "Bad \ud800 name", None, None))
    assert parse_back(to_csv_bytes([broken]))[1][4] == "Bad ? name"


text_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(first=text_values, last=text_values, name=text_values)
def test_any_text_round_trips(first: str, last: str, name: str) -> None:
    record = make(contact=Contact("101", "jane@example.com", first, last), event=MarketingEvent("e", name, "a", "x"))
    row = parse_back(to_csv_bytes([record]))[1]
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


# -- end to end --------------------------------------------------------------------------------------------


@pytest.fixture
def jane(fake_hubspot: FakeHubSpot) -> FakeHubSpot:
    records = many_records(23)
    records[3]["associations"]["contact"]["firstname"] = "=cmd|' /C calc'!A0"
    records[4]["associations"]["marketingEvent"]["name"] = 'Summit, "Lisboa"\nDay 1 — ç'
    fake_hubspot.add_contact(records, "jane@example.com", "101")
    return fake_hubspot


def upload_steps(fake_slack: FakeSlack) -> list[tuple[str, str]]:
    with fake_slack.lock:
        return [(p.kind, p.name) for p in fake_slack.posts if p.kind in {"api", "upload"} and p.name != "users.info"]


def completed(fake_slack: FakeSlack) -> dict[str, Any]:
    return fake_slack.wait_for(lambda: fake_slack.api_calls("files.completeUploadExternal"))[0]


def uploaded_rows(fake_slack: FakeSlack) -> list[list[str]]:
    with fake_slack.lock:
        (data,) = fake_slack.uploads.values()
    return parse_back(data)


def test_export_uploads_the_csv_into_the_thread(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    name, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID)
    complete = completed(fake_slack)
    steps = upload_steps(fake_slack)
    assert [kind for kind, _ in steps] == ["api", "upload", "api"]
    assert steps[0][1] == "files.getUploadURLExternal"
    assert steps[2][1] == "files.completeUploadExternal"
    get_url = fake_slack.api_calls("files.getUploadURLExternal")[0]
    assert get_url["filename"].startswith("participations-jane@example.com-")
    assert get_url["filename"].endswith(".csv")
    assert complete["channel_id"] == "C1"
    assert complete["thread_ts"] == FIRST_TS
    assert "23 participation records for Jane Doe" in complete["initial_comment"]
    file_id = steps[1][1]
    assert [f["id"] for f in json.loads(complete["files"])] == [file_id]
    assert int(get_url["length"]) == len(fake_slack.uploads[file_id])

    rows = uploaded_rows(fake_slack)
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 24
    assert rows[4][2] == "'=cmd|' /C calc'!A0"
    assert rows[5][4] == 'Summit, "Lisboa"\nDay 1 — ç'
    assert [r[-1] for r in rows[1:]] == [f"9000{i}" for i in range(23)]

    update = replaced(fake_slack, name)
    assert button_ids(update) == [NEXT_ACTION_ID, SUMMARY_ACTION_ID]
    assert "The CSV export is in the thread." in json.dumps(update, ensure_ascii=False)


def test_export_from_a_thread_reply_goes_to_the_thread_root(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    click(bot, fake_slack, message, EXPORT_ACTION_ID, message_ts="1790000009.000900", thread_ts=FIRST_TS)
    assert completed(fake_slack)["thread_ts"] == FIRST_TS


def test_export_respects_the_cap_and_says_so(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact(many_records(320), "jane@example.com")
    bot = make_bot(settings.with_overrides(max_export_records=150))
    message = run_command(bot, fake_slack, "jane@example.com attended")
    click(bot, fake_slack, message, EXPORT_ACTION_ID)
    complete = completed(fake_slack)
    assert len(uploaded_rows(fake_slack)) == 151
    assert "first 150 of 320 records" in complete["initial_comment"]
    assert "Attended" in complete["initial_comment"]
    assert [c.query.get("limit") for c in fake_hubspot.calls[1:]] == ["100", "100"]
    assert all(c.query.get("state") == "ATTENDED" for c in fake_hubspot.calls)


def test_export_refuses_a_channel_outside_the_allow_list(
    make_bot: Callable[..., Bot], settings: Settings, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bot = make_bot(settings.with_overrides(allowed_channel_ids=frozenset({"C1"})))
    message = run_command(bot, fake_slack, "jane@example.com")
    calls = len(jane.calls)
    name, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID, channel="C2")
    assert "not allowed" in ephemeral(fake_slack, name)["text"]
    assert len(jane.calls) == calls
    assert not fake_slack.api_calls("files.getUploadURLExternal")


def test_a_second_click_on_export_uploads_nothing_more(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    click(bot, fake_slack, message, EXPORT_ACTION_ID)
    completed(fake_slack)
    second, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID)
    assert "already in the thread" in ephemeral(fake_slack, second)["text"]
    assert len(fake_slack.api_calls("files.getUploadURLExternal")) == 1


def test_export_where_the_bot_cannot_post_explains_and_can_be_retried(
    bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    fake_slack.fail_api("files.completeUploadExternal", "not_in_channel")
    first, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID)
    notice = ephemeral(fake_slack, first)["text"]
    assert "not_in_channel" in notice
    assert "Invite me" in notice
    assert not [r for r in fake_slack.responses(first) if r.get("replace_original") is True]
    click(bot, fake_slack, message, EXPORT_ACTION_ID)
    fake_slack.wait_for(lambda: len(fake_slack.api_calls("files.completeUploadExternal")) == 2)


def test_export_under_an_ephemeral_message_is_declined(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    calls = len(jane.calls)
    name, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID, is_ephemeral=True)
    assert "only upload the CSV under a message in a channel" in ephemeral(fake_slack, name)["text"]
    assert len(jane.calls) == calls
    assert not fake_slack.api_calls("files.getUploadURLExternal")


def test_export_comment_is_in_the_users_language(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    fake_slack.locales["U1"] = "pt-BR"
    message = run_command(bot, fake_slack, "jane@example.com")
    assert button_ids(message) == [NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID]
    assert "Exportar CSV" in json.dumps(message, ensure_ascii=False)
    click(bot, fake_slack, message, EXPORT_ACTION_ID)
    assert "23 registros de participação de Jane Doe" in completed(fake_slack)["initial_comment"]
    assert uploaded_rows(fake_slack)[0] == list(COLUMNS)  # column names stay fixed for scripts


def test_export_from_the_summary_command_uploads_under_that_summary(
    bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    summary = run_command(bot, fake_slack, "jane@example.com summary")
    name, _ = click(bot, fake_slack, summary, EXPORT_ACTION_ID, message_ts="1790000005.000500")
    assert completed(fake_slack)["thread_ts"] == "1790000005.000500"
    update = replaced(fake_slack, name)
    assert button_ids(update) == []  # its only button has done its job
    assert not [b for b in update["blocks"] if b["type"] == "actions"]
    assert "The CSV export is in the thread." in json.dumps(update, ensure_ascii=False)


def test_an_upload_slack_does_not_confirm_in_time_is_not_uploaded_twice(
    make_bot: Callable[..., Bot], settings: Settings, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bot = make_bot(settings.with_overrides(slack_timeout=1.0))
    message = run_command(bot, fake_slack, "jane@example.com")
    fake_slack.api_delay["files.completeUploadExternal"] = 1.5
    first, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID)
    assert "took too long to confirm" in ephemeral(fake_slack, first)["text"]
    assert EXPORT_ACTION_ID not in button_ids(replaced(fake_slack, first))
    fake_slack.wait_for(lambda: fake_slack.api_calls("files.completeUploadExternal"))
    fake_slack.api_delay.clear()
    second, _ = click(bot, fake_slack, message, EXPORT_ACTION_ID)
    assert "already in the thread" in ephemeral(fake_slack, second)["text"]
    assert len(fake_slack.api_calls("files.completeUploadExternal")) == 1
