"""Export CSV, end to end: the upload into the thread, the cap, allow-lists, once only, failures explained."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.domain.export import COLUMNS
from bot.render.blocks import NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from tests.conftest import Bot
from tests.support.flows import FIRST_TS, button_ids, click, csv_rows, ephemeral, many_records, replaced, run_command
from tests.support.hubspot import FakeHubSpot
from tests.support.slack import FakeSlack

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
    return csv_rows(data)


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


def test_export_respects_the_cap_and_says_so(capped_bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(capped_bot, fake_slack, "jane@example.com attended")
    click(capped_bot, fake_slack, message, EXPORT_ACTION_ID)
    complete = completed(fake_slack)
    assert len(uploaded_rows(fake_slack)) == 151
    assert "first 150 of 320 records" in complete["initial_comment"]
    assert "Attended" in complete["initial_comment"]
    assert [c.query.get("limit") for c in fake_hubspot.calls[1:]] == ["100", "100"]
    assert all(c.query.get("state") == "ATTENDED" for c in fake_hubspot.calls)


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
