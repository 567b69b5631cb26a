"""The message shortcut "Event participations": real signed `message_action` payloads, answers in the thread."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from tests.conftest import Bot
from tests.support.flows import ephemeral
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.scraping import parse, value
from tests.support.slack import FakeSlack, all_text, assert_valid_message, choice_buttons, find_button
from tests.support.waiting import wait_until

ALERT_TS = "1790000100.000100"
ROOT_TS = "1790000050.000100"


@pytest.fixture
def contacts(fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(23)], "jane@example.com", "101")
    fake_hubspot.add_contact(
        [participation(i, email="bob@example.org", first="Bob", last="Ray", contact_id="102") for i in range(2)],
        "bob@example.org",
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def use_shortcut(bot: Bot, message: dict[str, Any] | None, **kwargs: Any) -> str:
    response, name = bot.sender.shortcut(message, **kwargs)
    assert response.status_code == 200
    return name


def posted(fake_slack: FakeSlack, count: int = 1) -> list[dict[str, Any]]:
    calls = fake_slack.wait_for(lambda: (c := fake_slack.api_calls("chat.postMessage")) and len(c) >= count and c)
    for call in calls:
        if isinstance(call.get("blocks"), str):
            call["blocks"] = json.loads(call["blocks"])
    return list(calls)


def test_one_email_posts_the_first_page_in_the_messages_thread_and_next_follows_it(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, contacts: None
) -> None:
    alert = {"text": "New webinar lead: <mailto:jane@example.com|jane@example.com> (Acme).", "ts": ALERT_TS}
    use_shortcut(bot, alert)
    (page,) = posted(fake_slack)
    assert (page["channel"], page["thread_ts"]) == ("C1", ALERT_TS)
    assert_valid_message(page)
    assert "Jane Doe" in page["blocks"][0]["text"]["text"] and "Showing 1–10 of 23" in all_text(page)
    shortcuts = "participations_shortcuts_total"
    wait_until(lambda: value(parse(bot.app.runtime.metrics.render().decode()), shortcuts, outcome="ok") == 1)
    assert fake_hubspot.calls[-1].identifier == "jane@example.com"
    # The page is a reply in the alert's thread: Slack sends the reply's ts and the root's.
    next_button = find_button(page["blocks"])
    assert next_button is not None and find_button(page["blocks"], "participations_summary") is not None
    bot.sender.click(next_button["value"], message=page, message_ts="1790000101.000100", thread_ts=ALERT_TS)
    second = posted(fake_slack, 2)[1]
    assert second["thread_ts"] == ALERT_TS
    assert "Page 2 · Showing 11–20 of 23" in all_text(second)


def test_on_a_reply_the_page_goes_to_the_thread_root(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, contacts: None
) -> None:
    use_shortcut(bot, {"text": "is jane@example.com coming?", "ts": ALERT_TS, "thread_ts": ROOT_TS})
    (page,) = posted(fake_slack)
    assert page["thread_ts"] == ROOT_TS


def test_emails_in_rich_text_blocks_are_found(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, contacts: None
) -> None:
    message = {
        "text": "Form submitted",
        "ts": ALERT_TS,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "x1",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "From: "},
                            {"type": "link", "url": "mailto:Jane@Example.com", "text": "Jane"},
                        ],
                    }
                ],
            }
        ],
    }
    use_shortcut(bot, message)
    (page,) = posted(fake_slack)
    assert "Jane Doe" in all_text(page)
    assert fake_hubspot.calls[-1].identifier == "Jane@Example.com"


def test_several_emails_offer_a_choice_and_choosing_posts_in_the_thread(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, contacts: None, logs: pytest.LogCaptureFixture
) -> None:
    text = "cc <mailto:bob@example.org|bob@example.org>, jane@example.com and BOB@example.org again"
    name = use_shortcut(bot, {"text": text, "ts": ALERT_TS, "thread_ts": ROOT_TS})
    choice = ephemeral(fake_slack, name)
    assert "mentions 2 email addresses" in all_text(choice)
    buttons = choice_buttons(choice["blocks"])
    assert [json.loads(b["value"])["i"] for b in buttons] == ["bob@example.org", "jane@example.com"]
    assert fake_hubspot.calls == []
    assert fake_slack.api_calls("chat.postMessage") == []

    response, clicked = bot.sender.click(
        buttons[1]["value"],
        message=None,
        is_ephemeral=True,
        message_ts="1790000102.000100",
        action_id="participations_choose",
    )
    assert response.status_code == 200
    (page,) = posted(fake_slack)
    assert page["thread_ts"] == ROOT_TS and "Jane Doe" in all_text(page)
    done = fake_slack.wait_for(lambda: [r for r in fake_slack.responses(clicked) if r.get("replace_original")])[0]
    assert "Chosen: *jane@example.com*" in all_text(done)
    wait_until(lambda: audit_lines(logs, "shortcut") and audit_lines(logs, "choose"))
    assert len(audit_lines(logs, "shortcut")) == 1 and "outcome=choice" in audit_lines(logs, "shortcut")[0]


def test_more_than_five_emails_offer_the_first_five(bot: Bot, fake_slack: FakeSlack) -> None:
    text = " ".join(f"lead{i}@example.com" for i in range(7))
    choice = ephemeral(fake_slack, use_shortcut(bot, {"text": text, "ts": ALERT_TS}))
    assert "mentions 7 email addresses; here are the first 5" in all_text(choice)
    assert len(choice_buttons(choice["blocks"])) == 5


@pytest.mark.parametrize(
    "message", [{"text": "no address here, ask @sam", "ts": ALERT_TS}, {"text": "", "ts": ALERT_TS}, None]
)
def test_no_email_says_so_and_points_at_the_name_search(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, message: dict[str, Any] | None
) -> None:
    answer = ephemeral(fake_slack, use_shortcut(bot, message))
    assert "no email address" in answer["text"] and "/participations Jane Doe" in answer["text"]
    assert fake_hubspot.calls == []


def test_where_the_bot_is_not_a_member_it_answers_privately_with_the_page_and_how_to_invite_it(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, contacts: None, logs: pytest.LogCaptureFixture
) -> None:
    fake_slack.fail_api("chat.postMessage", "not_in_channel")
    name = use_shortcut(bot, {"text": "jane@example.com", "ts": ALERT_TS}, channel="G1")
    answers = fake_slack.wait_for(lambda: len(r := fake_slack.responses(name)) >= 2 and r)
    assert all(a["response_type"] == "ephemeral" for a in answers)
    assert "/invite @participations" in answers[0]["text"]
    assert "Jane Doe" in all_text(answers[1]) and find_button(answers[1]["blocks"]) is not None
    wait_until(lambda: audit_lines(logs, "shortcut"))
    assert "outcome=private_not_in_channel" in audit_lines(logs, "shortcut")[0]


def test_an_unknown_contact_is_a_private_answer(bot: Bot, fake_slack: FakeSlack, contacts: None) -> None:
    answer = ephemeral(fake_slack, use_shortcut(bot, {"text": "ask nobody@example.com", "ts": ALERT_TS}))
    assert "No HubSpot contact found for nobody@example.com" in all_text(answer)
    assert fake_slack.api_calls("chat.postMessage") == []


def test_the_allow_lists_apply(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    guarded = make_bot(settings.with_overrides(allowed_channel_ids=frozenset({"C1"})))
    answer = ephemeral(fake_slack, use_shortcut(guarded, {"text": "jane@example.com", "ts": ALERT_TS}, channel="C2"))
    assert "not allowed" in answer["text"]
    assert fake_hubspot.calls == []


def test_an_unsigned_shortcut_is_refused(bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> None:
    response, name = bot.sender.shortcut({"text": "jane@example.com", "ts": ALERT_TS}, signed=False)
    assert response.status_code == 401
    time.sleep(0.2)
    assert fake_hubspot.calls == [] and fake_slack.responses(name) == []


def audit_lines(caplog: pytest.LogCaptureFixture, kind: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.audit" and r.getMessage().startswith(kind)]
