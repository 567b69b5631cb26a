"""The Summary button and `summary` in the command, end to end: in the thread, once, allow-lists, retries."""

from __future__ import annotations

import json

import pytest

from bot.render.blocks import NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from tests.conftest import Bot
from tests.support.flows import FIRST_TS, button_ids, click, ephemeral, replaced, run_command
from tests.support.hand_checked import HAND_CHECKED
from tests.support.hubspot import FakeHubSpot, Scripted
from tests.support.slack import FakeSlack, all_text, find_button

# -- end to end: real signed requests, loopback HubSpot and Slack ---------------------------------------------


@pytest.fixture
def jane(fake_hubspot: FakeHubSpot) -> FakeHubSpot:
    fake_hubspot.add_contact(HAND_CHECKED, "jane@example.com", "101")
    return fake_hubspot


def test_first_page_carries_summary_and_export_next_to_next(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com limit=5")
    assert button_ids(message) == [NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID]
    for action_id in (SUMMARY_ACTION_ID, EXPORT_ACTION_ID):
        button = find_button(message["blocks"], action_id)
        assert button is not None
        assert json.loads(button["value"]) == {"i": "jane@example.com"}
    filtered = run_command(bot, fake_slack, "jane@example.com attended")
    button = find_button(filtered["blocks"], SUMMARY_ACTION_ID)
    assert button is not None
    assert json.loads(button["value"]) == {"i": "jane@example.com", "s": "ATTENDED"}


def test_summary_button_posts_in_the_thread_then_retires_only_itself(
    bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    message = run_command(bot, fake_slack, "jane@example.com limit=5")
    calls_before = len(jane.calls)
    name, _ = click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    post = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert post["channel"] == "C1"
    assert post["thread_ts"] == FIRST_TS
    text = all_text(post)
    assert "75% (3 of 4 events)" in text
    assert "90% (over 3 events)" in text
    assert "1h 30m" in text
    # One request of 100 read all 13 records, whatever the page's own limit was.
    assert [c.query["limit"] for c in jane.calls[calls_before:]] == ["100"]
    update = replaced(fake_slack, name)
    assert button_ids(update) == [NEXT_ACTION_ID, EXPORT_ACTION_ID]
    assert "The summary is in the thread." in all_text(update)


def test_next_keeps_summary_and_export_on_the_first_page(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com limit=5")
    name, _ = click(bot, fake_slack, message, NEXT_ACTION_ID)
    update = replaced(fake_slack, name)
    assert button_ids(update) == [SUMMARY_ACTION_ID, EXPORT_ACTION_ID]
    assert find_button(update["blocks"], SUMMARY_ACTION_ID) == find_button(message["blocks"], SUMMARY_ACTION_ID)
    page_two = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert button_ids(page_two) == [NEXT_ACTION_ID]  # later pages carry Next only
    # The summary button still works from the updated first page.
    summary_click, _ = click(bot, fake_slack, {**update, "ts": FIRST_TS}, SUMMARY_ACTION_ID)
    fake_slack.wait_for(lambda: len(fake_slack.api_calls("chat.postMessage")) == 2)
    assert button_ids(replaced(fake_slack, summary_click)) == [EXPORT_ACTION_ID]


def test_summary_command_posts_in_channel_with_an_export_button(
    bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    message = run_command(bot, fake_slack, "jane@example.com summary")
    assert message["response_type"] == "in_channel"
    assert "75% (3 of 4 events)" in all_text(message)
    assert button_ids(message) == [EXPORT_ACTION_ID]
    assert all(c.query["limit"] == "100" for c in jane.calls)


def test_summary_reads_every_page_up_to_the_cap(
    capped_bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    message = run_command(capped_bot, fake_slack, "jane@example.com summary")
    assert len(fake_hubspot.calls) == 2  # 100 + 50 of the second page; the third is never asked for
    text = all_text(message)
    assert "*Participation records*\n150" in text
    assert "first 150 of 320 records" in text


def test_summary_waits_out_a_rate_limit(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    jane.script(Scripted(429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, {"Retry-After": "2"}))
    message = run_command(bot, fake_slack, "jane@example.com summary")
    assert "75% (3 of 4 events)" in all_text(message)
    assert 2.0 in bot.time.sleeps


def test_a_failed_summary_can_be_retried(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    jane.script(*[Scripted(400, {"status": "error", "message": "nope", "category": "VALIDATION_ERROR"})])
    first, _ = click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    assert "rejected the request" in ephemeral(fake_slack, first)["text"]
    click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    post = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert "75% (3 of 4 events)" in all_text(post)


def test_a_forged_summary_button_is_refused(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    response, name = bot.sender.click('{"i":"<!here>"}', message=None, action_id=SUMMARY_ACTION_ID)
    assert response.status_code == 200
    assert "no longer valid" in ephemeral(fake_slack, name)["text"]
    assert not jane.calls
