"""End to end through the bot: signed requests in, real HTTP to the fakes, what the user sees and what is logged."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.hubspot.errors import REQUIRED_SCOPE
from bot.render.blocks import NEXT_ACTION_ID
from tests.conftest import Bot
from tests.support.flows import click, run_command
from tests.support.hubspot import FakeHubSpot, Scripted, missing_scopes, participation
from tests.support.slack import FakeSlack, all_text, find_button
from tests.support.waiting import wait_until

EMAIL = "jane@example.com"
REFERENCE = re.compile(r"Reference: `([^`]+)`")


def audit_lines(caplog: pytest.LogCaptureFixture, kind: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.audit" and r.getMessage().startswith(kind)]


def first_page(bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, records: int = 25) -> dict[str, Any]:
    fake_hubspot.add_contact([participation(i) for i in range(records)], EMAIL, "101")
    message = run_command(bot, fake_slack, EMAIL)
    assert find_button(message["blocks"]) is not None
    return message


def click_next(bot: Bot, fake_slack: FakeSlack, message: dict[str, Any], **kwargs: Any) -> str:
    return click(bot, fake_slack, message, NEXT_ACTION_ID, **kwargs)[0]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


# -- HubSpot faults → what the user reads, with a reference an admin can find --------------------------------

RATE_LIMIT_429 = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "corr-ten",
    "policyName": "TEN_SECONDLY_ROLLING",
}

FAULTS: list[tuple[str, list[Scripted], str, str | None]] = [
    (
        "ten-secondly",
        [Scripted(429, RATE_LIMIT_429, {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})] * 3,
        "HubSpot is rate limiting us right now. Please try again in a minute.",
        "corr-ten",
    ),
    (
        "daily",
        [Scripted(429, {**RATE_LIMIT_429, "policyName": "DAILY", "correlationId": "corr-daily"})],
        "used up its daily API quota",
        "corr-daily",
    ),
    (
        "503",
        [Scripted(503, {"status": "error", "message": "down", "correlationId": "corr-503"})] * 4,
        "HubSpot is not answering right now",
        "corr-503",
    ),
    (
        "connection-dropped",
        [Scripted(drop=True)] * 4,
        "HubSpot is not answering right now",
        None,
    ),
    (
        "400",
        [
            Scripted(
                400,
                {
                    "status": "error",
                    "message": "State value should be one of REGISTERED, CANCELLED, ATTENDED, NO_SHOW",
                    "correlationId": "corr-400",
                    "category": "VALIDATION_ERROR",
                },
            )
        ],
        "HubSpot rejected the request: State value should be one of REGISTERED",
        "corr-400",
    ),
    (
        "401-expired",
        [
            Scripted(
                401,
                {
                    "status": "error",
                    "message": "The OAuth token used to make this call expired 3 second(s) ago.",
                    "correlationId": "corr-401",
                    "category": "EXPIRED_AUTHENTICATION",
                },
            )
        ],
        "HubSpot rejected the bot's access token (invalid or expired)",
        "corr-401",
    ),
    (
        "403-scopes",
        [missing_scopes(REQUIRED_SCOPE)],
        f"missing the scope `{REQUIRED_SCOPE}`",
        "corr-403",
    ),
    (
        "malformed-json",
        [Scripted(200, None, raw=b'{"results": [', headers={"X-HubSpot-Correlation-Id": "corr-json"})],
        "HubSpot sent an unexpected response",
        "corr-json",
    ),
    (
        "html-page",
        [Scripted(200, None, raw=b"<html><body>Down for maintenance</body></html>")],
        "HubSpot sent an unexpected response",
        None,
    ),
    (
        "missing-results",
        [Scripted(200, {"total": 4}, {"X-HubSpot-Correlation-Id": "corr-shape"})],
        "HubSpot sent an unexpected response",
        "corr-shape",
    ),
]


@pytest.mark.parametrize(("answers", "expected", "correlation_id"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_each_hubspot_fault_gets_a_plain_ephemeral_answer_with_a_logged_reference(
    bot: Bot,
    fake_slack: FakeSlack,
    fake_hubspot: FakeHubSpot,
    logs: pytest.LogCaptureFixture,
    answers: list[Scripted],
    expected: str,
    correlation_id: str | None,
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_hubspot.script(*answers)
    message = run_command(bot, fake_slack, EMAIL)
    assert message["response_type"] == "ephemeral"
    text = all_text(message)
    assert expected in text
    reference = REFERENCE.search(text)
    assert reference is not None, text
    if correlation_id is not None:
        assert reference.group(1) == correlation_id
    # The same reference is in a warning line and in the audit line for the command.
    wait_until(lambda: audit_lines(logs, "command"))
    warnings = [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING]
    assert any(f"ref={reference.group(1)}" in line for line in warnings)
    assert f"ref={reference.group(1)}" in audit_lines(logs, "command")[0]


def test_a_wrong_hubspot_token_is_reported_as_a_configuration_problem(
    make_bot: Callable[..., Bot], settings: Settings, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    bot = make_bot(settings.with_overrides(hubspot_access_token="pat-na1-wrong"))
    message = run_command(bot, fake_slack, EMAIL)
    assert "invalid or expired" in message["text"]
    assert "HUBSPOT_ACCESS_TOKEN" in all_text(message)
    assert len(fake_hubspot.calls) == 1


def test_not_found_repeats_the_identifier_as_typed(bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot) -> None:
    message = run_command(bot, fake_slack, "Nobody.Here+tag@Example.COM")
    assert message["response_type"] == "ephemeral"
    assert "No HubSpot contact found for Nobody.Here+tag@Example.COM." in all_text(message)
    assert len(fake_hubspot.calls) == 1


def test_a_hang_is_answered_promptly(
    make_bot: Callable[..., Bot], settings: Settings, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    bot = make_bot(settings.with_overrides(hubspot_read_timeout=0.2))
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_hubspot.latency = 3.0
    started = time.monotonic()
    message = run_command(bot, fake_slack, EMAIL)
    assert time.monotonic() - started < 2.5
    assert "HubSpot is not answering right now" in all_text(message)
    assert REFERENCE.search(all_text(message))


def test_a_transient_fault_is_invisible_to_the_user(bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_hubspot.script(Scripted(502, None, raw=b"<html>bad gateway</html>"), Scripted(drop=True))
    message = run_command(bot, fake_slack, EMAIL)
    assert message["response_type"] == "in_channel"
    assert "Webinar 1" in all_text(message)
    assert len(fake_hubspot.calls) == 3


# -- Slack side: posting the next page -----------------------------------------------------------------------


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_next_page_falls_back_to_the_response_url_in_the_thread(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, error: str, logs: pytest.LogCaptureFixture
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_slack.fail_api("chat.postMessage", error)
    name = click_next(bot, fake_slack, message, message_ts="1790000001.000100")
    posts = fake_slack.wait_for(lambda: len(fake_slack.responses(name)) >= 2 and fake_slack.responses(name))
    page = posts[0]
    assert page["response_type"] == "in_channel"
    assert page["thread_ts"] == "1790000001.000100"
    assert page["replace_original"] is False
    assert "Showing 11–20 of 25" in all_text(page)
    assert posts[1]["replace_original"] is True  # the clicked message loses its button
    assert find_button(posts[1]["blocks"]) is None
    wait_until(lambda: audit_lines(logs, "next"))
    assert "outcome=ok" in audit_lines(logs, "next")[0]


def test_next_page_in_a_thread_reply_goes_to_the_thread_root(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    click_next(bot, fake_slack, message, message_ts="1790000009.000100", thread_ts="1790000001.000100")
    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))
    assert posted[0]["thread_ts"] == "1790000001.000100"


def test_an_archived_channel_is_explained(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_slack.fail_api("chat.postMessage", "is_archived")
    name = click_next(bot, fake_slack, message)
    notice = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert notice["response_type"] == "ephemeral"
    assert "This channel is archived" in notice["text"]
    reference = REFERENCE.search(all_text(notice))
    assert reference is not None
    wait_until(lambda: audit_lines(logs, "next"))
    assert f"ref={reference.group(1)}" in audit_lines(logs, "next")[0]
    assert any(f"is_archived) ref={reference.group(1)}" in r.getMessage() for r in logs.records)
    time.sleep(0.2)
    assert len(fake_slack.responses(name)) == 1  # the button stays: nothing was posted


def test_other_slack_errors_are_explained_with_the_reason(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_slack.fail_api("chat.postMessage", "msg_blocks_too_long")
    name = click_next(bot, fake_slack, message)
    notice = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert "Slack refused the message (msg_blocks_too_long)" in notice["text"]


def test_slack_429_is_retried_honouring_retry_after(bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_slack.fail_api("chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "0"})
    started = time.monotonic()
    name = click_next(bot, fake_slack, message)
    fake_slack.wait_for(lambda: len(fake_slack.api_calls("chat.postMessage")) >= 2)
    retired = fake_slack.wait_for(lambda: fake_slack.responses(name))
    assert time.monotonic() - started < 5
    assert retired[0]["replace_original"] is True  # the page went in through the API on the retry
    assert len(fake_slack.api_calls("chat.postMessage")) == 2


def test_slack_429_that_persists_falls_back_to_the_response_url(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    for _ in range(3):
        fake_slack.fail_api("chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "0"})
    name = click_next(bot, fake_slack, message)
    posts = fake_slack.wait_for(lambda: len(fake_slack.responses(name)) >= 2 and fake_slack.responses(name))
    assert posts[0]["response_type"] == "in_channel"
    assert "thread_ts" in posts[0]
    assert len(fake_slack.api_calls("chat.postMessage")) == 3  # first try + two retries


def test_a_long_slack_retry_after_is_not_waited_for(bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_slack.fail_api("chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "120"})
    started = time.monotonic()
    name = click_next(bot, fake_slack, message)
    posts = fake_slack.wait_for(lambda: fake_slack.responses(name))
    assert time.monotonic() - started < 5
    assert posts[0]["response_type"] == "in_channel"  # delivered through the response_url instead
    assert len(fake_slack.api_calls("chat.postMessage")) == 1


@pytest.mark.parametrize("status", [404, 500])
def test_a_response_url_that_answers_non_2xx_is_logged(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture, status: int
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_slack.response_status["broken"] = status
    run_command(bot, fake_slack, EMAIL, response_name="broken")
    wait_until(lambda: audit_lines(logs, "command"))
    errors = [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]
    assert any(f"response_url answered {status}" in line for line in errors)
    assert "outcome=post_failed" in audit_lines(logs, "command")[0]


def test_a_response_url_429_is_retried_honouring_retry_after(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_slack.response_faults["busy"] = deque([(429, {"Retry-After": "0"})])
    run_command(bot, fake_slack, EMAIL, response_name="busy")
    wait_until(lambda: audit_lines(logs, "command"))
    assert len(fake_slack.responses("busy")) == 2  # the same page, delivered on the retry
    assert "outcome=ok" in audit_lines(logs, "command")[0]


# -- double clicks -------------------------------------------------------------------------------------------


def test_sequential_double_click_posts_the_page_once(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    first = click_next(bot, fake_slack, message)
    fake_slack.wait_for(lambda: fake_slack.responses(first))
    second = click_next(bot, fake_slack, message)
    notice = fake_slack.wait_for(lambda: fake_slack.responses(second))[0]
    assert notice["response_type"] == "ephemeral"
    assert "already in the thread" in notice["text"]
    assert len(fake_slack.api_calls("chat.postMessage")) == 1
    wait_until(lambda: len(audit_lines(logs, "next")) == 2)
    assert sorted("outcome=ok" in line for line in audit_lines(logs, "next")) == [False, True]


def test_concurrent_double_click_posts_the_page_once(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    calls_before = len(fake_hubspot.calls)
    fake_hubspot.latency = 0.3  # keep the first click busy while the others land
    barrier = threading.Barrier(4)
    names: list[str] = []

    def click() -> None:
        barrier.wait()
        names.append(click_next(bot, fake_slack, message))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    wait_until(lambda: len(audit_lines(logs, "next")) == 4)
    assert len(fake_slack.api_calls("chat.postMessage")) == 1
    assert len(fake_hubspot.calls) - calls_before == 1
    outcomes = [line.split("outcome=")[1].split()[0] for line in audit_lines(logs, "next")]
    assert sorted(outcomes) == ["duplicate_click"] * 3 + ["ok"]


def test_a_failed_click_can_be_retried(bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot) -> None:
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_hubspot.script(*[Scripted(503, None)] * 4)
    failed = click_next(bot, fake_slack, message)
    assert "not answering" in fake_slack.wait_for(lambda: fake_slack.responses(failed))[0]["text"]
    retried = click_next(bot, fake_slack, message)
    fake_slack.wait_for(lambda: fake_slack.responses(retried))
    assert len(fake_slack.api_calls("chat.postMessage")) == 1


# -- ugly input ----------------------------------------------------------------------------------------------

UGLY_TEXTS = [
    ("unicode", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ 🎉 ✨", "is not an email address or a HubSpot contact id"),
    ("10kB", "jane@example.com " + "x" * 10_240, "That command is too long"),
    ("10kB-unicode", "🙂" * 5_000, "That command is too long"),
    ("only-spaces", "     \u00a0   ", "How to use /participations"),
    ("empty", "", "How to use /participations"),
    ("user-mention", "<@U024BE7LH|bob>", "That's a Slack user, not a HubSpot contact"),
    ("channel-link", "<#C024BE7LR|general>", "is not an email address"),
    ("special-mention", "<!channel>", "is not an email address"),
    ("unknown-state", "jane@example.com maybe", "I don't know the state `maybe`"),
    ("too-many-words", "jane@example.com attended extra", "I didn't understand `extra`"),
    ("bad-limit", "jane@example.com limit=1000", "is not a valid limit"),
    ("injection", "<!here|x>@evil.com", "is not an email address"),
]


@pytest.mark.parametrize(("text", "expected"), [u[1:] for u in UGLY_TEXTS], ids=[u[0] for u in UGLY_TEXTS])
def test_ugly_slash_text_gets_a_sensible_answer(
    bot: Bot,
    fake_slack: FakeSlack,
    fake_hubspot: FakeHubSpot,
    logs: pytest.LogCaptureFixture,
    text: str,
    expected: str,
) -> None:
    message = run_command(bot, fake_slack, text)
    assert message["response_type"] == "ephemeral"
    shown = all_text(message)
    assert expected in shown
    assert "<!" not in shown.replace("<!date^", "")
    assert "<@" not in shown
    assert fake_hubspot.calls == []
    wait_until(lambda: audit_lines(logs, "command"))
    assert "outcome=internal_error" not in audit_lines(logs, "command")[0]
    assert not [r for r in logs.records if r.levelno >= logging.ERROR]


def test_the_too_many_words_answer_points_at_help(bot: Bot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com attended extra")
    assert "/participations help" in all_text(message)


def test_a_slack_escaped_mailto_is_looked_up_as_the_email(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    message = run_command(bot, fake_slack, f"<mailto:{EMAIL}|{EMAIL}> attended")
    assert message["response_type"] == "in_channel"
    assert fake_hubspot.calls[0].identifier == EMAIL
    assert fake_hubspot.calls[0].query["state"] == "ATTENDED"


def test_invisible_characters_pasted_around_an_email_are_dropped(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    message = run_command(bot, fake_slack, "\u202e\ufeffjane@exam\u200bple.com\u200b attended\u2060")
    assert message["response_type"] == "in_channel"
    assert fake_hubspot.calls[0].identifier == EMAIL


def test_a_unicode_email_reaches_hubspot_encoded_once(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_contact([participation(1, email="josé@exämple.com")], "josé@exämple.com")
    message = run_command(bot, fake_slack, "josé@exämple.com")
    assert message["response_type"] == "in_channel"
    assert fake_hubspot.calls[0].raw_path.endswith("/jos%C3%A9%40ex%C3%A4mple.com/breakdown")


UNDECODABLE = [
    "",
    "not json",
    "{",
    "[]",
    "null",
    '{"i": 5, "l": 10, "p": 2}',
    '{"i": "jane@example.com", "l": 0, "p": 2}',
    '{"i": "jane@example.com", "l": 10, "p": true}',
    '{"i": "jane@example.com", "l": 10, "p": 2, "s": "MAYBE"}',
    '{"i": "<!channel>", "l": 10, "p": 2}',
    '{"i": "jane@example.com", "l": 10, "p": 2, "a": ""}',
    "x" * 2001,
    "\udcff",
]


@pytest.mark.parametrize("value", UNDECODABLE)
def test_undecodable_button_values_get_an_ephemeral_error(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, value: str
) -> None:
    response, name = bot.sender.click(value.encode("utf-8", "replace").decode(), message={"blocks": [], "text": "x"})
    assert response.status_code == 200
    notice = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert notice["response_type"] == "ephemeral"
    assert "That button is no longer valid" in notice["text"]
    assert fake_hubspot.calls == []
    assert fake_slack.api_calls("chat.postMessage") == []


def test_a_click_without_actions_or_message_still_gets_an_answer(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    response, name = bot.sender.click("{}", message=None, is_ephemeral=True)
    assert response.status_code == 200
    notice = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert "That button is no longer valid" in notice["text"]


def test_a_post_slack_does_not_confirm_in_time_is_not_posted_twice(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    """A timeout after the request went out means "probably delivered": never post the same page again."""
    bot = make_bot(settings.with_overrides(slack_timeout=1.0))
    message = first_page(bot, fake_slack, fake_hubspot)
    fake_slack.api_delay["chat.postMessage"] = 1.5
    name = click_next(bot, fake_slack, message)
    notice = fake_slack.wait_for(
        lambda: [r for r in fake_slack.responses(name) if r.get("response_type") == "ephemeral"], timeout=10
    )[0]
    assert "took too long to confirm" in all_text(notice)
    assert REFERENCE.search(all_text(notice))
    retired = fake_slack.wait_for(lambda: [r for r in fake_slack.responses(name) if r.get("replace_original")])[0]
    assert find_button(retired["blocks"]) is None
    fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))  # the slow post did arrive
    fake_slack.api_delay.clear()
    second = click_next(bot, fake_slack, message)
    assert "already in the thread" in all_text(fake_slack.wait_for(lambda: fake_slack.responses(second))[0])
    assert len(fake_slack.api_calls("chat.postMessage")) == 1  # not retried, not posted again
