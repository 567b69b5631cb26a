"""The whole path through real signed requests: slash command → HubSpot → Block Kit → Next in the thread."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from tests.conftest import Bot
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.slack import FakeSlack, all_text, assert_valid_message, find_button


def first_page(bot: Bot, fake_slack: FakeSlack, text: str, **kwargs: Any) -> dict[str, Any]:
    response, name = bot.sender.command(text, **kwargs)
    assert response.status_code == 200
    return fake_slack.wait_for(lambda: fake_slack.responses(name))[0]


@pytest.fixture
def jane(fake_hubspot: FakeHubSpot) -> list[dict[str, Any]]:
    states = ["ATTENDED", "REGISTERED", "NO_SHOW", "CANCELLED"]
    records = [participation(i, state=states[i % 4]) for i in range(23)]
    fake_hubspot.add_contact(records, "jane@example.com", "101")
    return records


def test_empty_text_and_help_answer_with_usage_and_call_no_one(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    for text in ("", "help", "  HELP  "):
        message = first_page(bot, fake_slack, text)
        assert message["response_type"] == "ephemeral"
        assert "/participations &lt;email-or-contact-id&gt; [state]" in all_text(
            message
        )  # escaped: Slack would parse <…>
        assert "no_show" in all_text(message)
    assert fake_hubspot.calls == []


def click_next(bot: Bot, message: dict[str, Any], **where: Any) -> tuple[dict[str, Any], str]:
    """Click the Next button of `message`: (the button, the name of the click's response_url)."""
    button = find_button(message["blocks"])
    assert button is not None
    response, name = bot.sender.click(button["value"], message=message, **where)
    assert response.status_code == 200
    return button, name


def as_message(posted: dict[str, Any]) -> dict[str, Any]:
    """A chat.postMessage call as the message it posted (the Web API sends `blocks` as a JSON string)."""
    blocks = posted["blocks"]
    return {"text": posted["text"], "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks}


def test_first_page_goes_to_the_channel_with_header_entries_context_and_next(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, jane: list[dict[str, Any]]
) -> None:
    message = first_page(bot, fake_slack, "jane@example.com")
    assert message["response_type"] == "in_channel"
    assert_valid_message(message)
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    assert "Jane Doe" in blocks[0]["text"]["text"]
    assert "jane@example.com" in blocks[1]["text"]["text"]
    assert "23 participation records" in blocks[1]["text"]["text"]
    assert [b["type"] for b in blocks[-2:]] == ["context", "actions"]
    assert "Showing 1–10 of 23" in blocks[-2]["elements"][0]["text"]
    text = all_text(message)
    assert "Webinar 0" in text and "Webinar 9" in text and "Webinar 10" not in text
    assert "<!date^1791571437^" in text and "|Oct 9, 2026 18:43 UTC>" in text
    assert "87% attended" in text and "52m" in text
    assert "None" not in text and "null" not in text
    assert "Jane Doe" in message["text"]

    call = fake_hubspot.calls[0]
    assert call.query == {"limit": "10"}
    assert call.headers["Authorization"] == "Bearer hs-test-token"

    button = find_button(blocks)
    assert button is not None and "Next" in button["text"]["text"]
    value = json.loads(button["value"])
    assert value["i"] == "jane@example.com" and value["l"] == 10 and value["p"] == 2 and value["a"]


def test_next_posts_the_following_page_in_the_thread_and_retires_the_button(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, jane: list[dict[str, Any]]
) -> None:
    message = first_page(bot, fake_slack, "jane@example.com")
    button, name = click_next(bot, message, message_ts="1790000001.000100")

    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert posted["channel"] == "C1"
    assert posted["thread_ts"] == "1790000001.000100"
    page2 = as_message(posted)
    assert_valid_message(page2)
    assert "Page 2 · Showing 11–20 of 23" in all_text(page2)
    assert "Webinar 10" in all_text(page2) and "Webinar 9*" not in all_text(page2)
    assert fake_hubspot.calls[-1].query["after"] == json.loads(button["value"])["a"]

    update = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert update["replace_original"] is True
    assert find_button(update["blocks"]) is None
    assert "Page 2 is in the thread" in all_text(update)
    assert "Webinar 0" in all_text(update)  # the content stays


def test_next_from_a_thread_reply_keeps_the_root_thread(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, jane: list[dict[str, Any]]
) -> None:
    message = first_page(bot, fake_slack, "jane@example.com")
    click_next(bot, message, message_ts="1790000001.000100")
    page2 = as_message(fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0])
    # The second page is a reply in the thread: Slack sends its own ts and the root's ts.
    click_next(bot, page2, message_ts="1790000009.000100", thread_ts="1790000001.000100")
    calls = fake_slack.wait_for(lambda: (c := fake_slack.api_calls("chat.postMessage")) and len(c) >= 2 and c)
    assert calls[1]["thread_ts"] == "1790000001.000100"
    assert "Showing 21–23 of 23" in all_text(calls[1])
    assert find_button(calls[1]["blocks"]) is None  # the last page


def test_last_page_has_no_next_button(bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(3)], "three@example.com")
    message = first_page(bot, fake_slack, "three@example.com")
    assert find_button(message["blocks"]) is None
    assert "Showing 1–3 of 3" in all_text(message)


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("registered", "REGISTERED"),
        ("ATTENDED", "ATTENDED"),
        ("Cancelled", "CANCELLED"),
        ("canceled", "CANCELLED"),
        ("no_show", "NO_SHOW"),
        ("no-show", "NO_SHOW"),
        ("noshow", "NO_SHOW"),
    ],
)
def test_state_words_map_to_hubspot_states(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, jane: list[dict[str, Any]], word: str, state: str
) -> None:
    message = first_page(bot, fake_slack, f"jane@example.com {word}")
    assert fake_hubspot.calls[-1].query["state"] == state
    assert all(f"{label}" in all_text(message) for label in ("Showing 1–",))
    button = find_button(message["blocks"])
    if button is not None:  # the state travels with the cursor
        assert json.loads(button["value"])["s"] == state


def test_limit_is_passed_and_kept_across_pages(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, jane: list[dict[str, Any]]
) -> None:
    message = first_page(bot, fake_slack, "jane@example.com limit=5")
    assert fake_hubspot.calls[-1].query["limit"] == "5"
    button = find_button(message["blocks"])
    assert button is not None and json.loads(button["value"])["l"] == 5


@pytest.mark.parametrize(
    ("typed", "wire", "seen_by_hubspot"),
    [
        ("jane+events@example.com", "jane%2Bevents%40example.com", "jane+events@example.com"),
        ("<mailto:jane+x@example.com|jane+x@example.com>", "jane%2Bx%40example.com", "jane+x@example.com"),
        ("o'brien/x@example.com", "o%27brien%2Fx%40example.com", "o'brien/x@example.com"),
    ],
)
def test_identifier_is_one_encoded_path_segment(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, typed: str, wire: str, seen_by_hubspot: str
) -> None:
    fake_hubspot.add_contact([participation(1, email=seen_by_hubspot)], seen_by_hubspot)
    message = first_page(bot, fake_slack, typed)
    call = fake_hubspot.calls[-1]
    assert call.raw_path == f"/marketing/v3/marketing-events/participations/contacts/{wire}/breakdown"
    assert call.identifier == seen_by_hubspot
    assert message["response_type"] == "in_channel"


def test_path_traversal_is_refused_before_hubspot(bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = first_page(bot, fake_slack, "../../crm/v3/objects/contacts")
    assert message["response_type"] == "ephemeral"
    assert "not an email address or a HubSpot contact id" in all_text(message)
    assert fake_hubspot.calls == []


def test_hubspot_strings_are_escaped_and_verbatim(bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> None:
    evil = participation(1, name="<!channel> @here Webinar & <http://evil|click>", first="<@U123>", last="&amp;")
    fake_hubspot.add_contact([evil], "evil@example.com")
    message = first_page(bot, fake_slack, "evil@example.com")
    # plain_text (the header) never renders mentions or links; everything else is mrkdwn and must be escaped.
    header, *rest = message["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    text = all_text({"text": message["text"], "blocks": rest})
    assert "<!channel>" not in text and "<@U123>" not in text and "<http://evil" not in text
    assert "&lt;!channel&gt; @here Webinar &amp; &lt;http://evil|click&gt;" in text
    assert "&amp;amp;" in text
    for block in message["blocks"]:
        if block["type"] == "section":
            assert block["text"]["verbatim"] is True


def test_a_full_page_of_100_stays_within_slack_limits(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    long_name = "Quarterly <Partner> & Customer Enablement Summit — " + "Ünïcødé " * 120
    records = [participation(i, name=long_name if i % 2 else f"Event {i}") for i in range(150)]
    fake_hubspot.add_contact(records, "big@example.com")
    message = first_page(bot, fake_slack, "big@example.com limit=100")
    assert_valid_message(message)
    assert "Showing 1–100 of 150" in all_text(message)
    text = all_text(message)
    assert "Event 98" in text and "Event 0" in text
    assert "Quarterly &lt;Partner&gt; &amp; Customer Enablement Summit" in text  # names kept beyond 40 characters


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Scripted(401, {"status": "error", "message": "expired", "category": "EXPIRED_AUTHENTICATION"}), "token"),
        (
            Scripted(403, {"status": "error", "category": "MISSING_SCOPES", "correlationId": "c-403"}),
            "crm.objects.marketing_events.read",
        ),
        (Scripted(404, {"status": "error", "category": "OBJECT_NOT_FOUND"}), "No HubSpot contact found for nobody@"),
        (Scripted(429, {"status": "error", "policyName": "DAILY", "errorType": "RATE_LIMIT"}), "daily API quota"),
        (Scripted(503, {"status": "error", "message": "down"}), "not answering"),
        (Scripted(200, raw=b"<html>oops</html>"), "unexpected response"),
    ],
)
def test_errors_reach_the_user_ephemerally_in_plain_words(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, answer: Scripted, expected: str
) -> None:
    fake_hubspot.script(*[answer] * 6)
    response, name = bot.sender.command("nobody@example.com")
    assert response.status_code == 200
    message = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert message["response_type"] == "ephemeral"
    assert expected in all_text(message)
    assert "Reference:" in all_text(message)


def test_rate_limited_after_the_budget_says_try_again(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    limited = Scripted(429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, {"Retry-After": "1"})
    fake_hubspot.script(*[limited] * 20)
    _, name = bot.sender.command("jane@example.com")
    message = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert "rate limiting us" in all_text(message)
    assert bot.time.sleeps and all(s == 1.0 for s in bot.time.sleeps if s >= 1.0)


def test_unknown_contact_with_empty_200_is_a_friendly_message(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.unknown_contacts_404 = False
    message = first_page(bot, fake_slack, "12345 attended")
    assert message["response_type"] == "ephemeral"
    assert "No Attended participations found for 12345" in all_text(message)


def test_unknown_state_and_bad_identifier_call_no_one(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bad_state = first_page(bot, fake_slack, "jane@example.com maybe")
    assert "I don't know the state `maybe`" in all_text(bad_state)
    assert "no_show" in all_text(bad_state)
    bad_id = first_page(bot, fake_slack, "jane-at-example@")
    assert "not an email address or a HubSpot contact id" in all_text(bad_id)
    assert fake_hubspot.calls == []


@pytest.mark.parametrize("how", ["unsigned", "forged", "stale"])
def test_bad_signatures_get_401_and_never_reach_hubspot(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, how: str
) -> None:
    options: dict[str, Any] = {
        "unsigned": {"signed": False},
        "forged": {"secret": "not-the-secret"},
        "stale": {"timestamp": int(time.time()) - 6 * 60},
    }[how]
    response, name = bot.sender.command("jane@example.com", **options)
    assert response.status_code == 401
    time.sleep(0.2)
    assert fake_hubspot.calls == []
    assert fake_slack.responses(name) == []


def test_healthz_answers_200(bot: Bot) -> None:
    import requests

    assert requests.get(bot.url + "/healthz", timeout=5).status_code == 200
    assert requests.get(bot.url + "/nope", timeout=5).status_code == 404


def test_acks_stay_fast_while_hubspot_is_slow_and_many_lookups_are_in_flight(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    """Bolt's default would share 5 threads between acks and work; the 6th user would time out."""
    slow_bot = make_bot(settings.with_overrides(listener_workers=4, hubspot_read_timeout=5.0))
    fake_hubspot.add_contact([participation(1)], "slow@example.com")
    fake_hubspot.latency = 1.5
    count = 12
    ack_times: list[float] = []
    names: list[str] = []
    lock = threading.Lock()

    def send() -> None:
        started = time.monotonic()
        response, name = slow_bot.sender.command("slow@example.com")
        with lock:
            ack_times.append(time.monotonic() - started)
            names.append(name)
        assert response.status_code == 200

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(ack_times) == count
    # Every ack came back long before HubSpot answered even once (1.5 s), with 12 lookups queued on 4 workers.
    assert max(ack_times) < 1.0
    fake_slack.wait_for(lambda: all(fake_slack.responses(n) for n in names), timeout=20)
    assert all(fake_slack.responses(n)[0]["response_type"] == "in_channel" for n in names)
