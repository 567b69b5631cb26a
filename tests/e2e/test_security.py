"""Security: signatures, allow-lists, audit logging without leaks, and mrkdwn injection from HubSpot data."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from bot.access import AccessPolicy
from bot.audit import mask_identifier, mask_key
from bot.config import load_settings
from bot.logging_setup import JsonFormatter, ScrubbingFormatter, configure_logging
from tests.conftest import Bot
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.slack import FakeSlack, find_button, mrkdwn_objects, sign
from tests.support.tokens import BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET
from tests.support.waiting import wait_until

EMAIL = "jane.secret@example.com"
AUDIT = re.compile(
    r"^(?P<kind>command|next) user=(?P<user>\S+) channel=(?P<channel>\S+) contact=(?P<contact>\S+) "
    r"state=(?P<state>\S+) page=(?P<page>\S+) outcome=(?P<outcome>\S+) latency_ms=(?P<latency>\d+) ref=(?P<ref>\S+)$"
)


def audits(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    found = [AUDIT.match(r.getMessage()) for r in caplog.records if r.name == "bot.audit"]
    assert all(found), [r.getMessage() for r in caplog.records if r.name == "bot.audit"]
    return [m for m in found if m is not None]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def command_body(text: str = EMAIL, response_url: str = "http://127.0.0.1:9/response/x") -> str:
    return urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/participations",
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


# -- request signatures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    ["unsigned", "wrong-secret", "stale-timestamp", "future-timestamp", "tampered-body", "garbage-signature"],
)
@pytest.mark.parametrize("kind", ["command", "click"])
def test_forged_requests_are_rejected_with_401_and_reach_nothing(
    bot: Bot,
    fake_slack: FakeSlack,
    fake_hubspot: FakeHubSpot,
    forge: str,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_hubspot.add_contact([participation(1)], EMAIL)
    send: Callable[..., tuple[requests.Response, str]]
    if kind == "command":
        send = lambda **kw: bot.sender.command(EMAIL, **kw)  # noqa: E731
    else:
        value = json.dumps({"i": EMAIL, "l": 10, "p": 2, "a": "b2Zmc2V0OjEwOmFhYWFhYQ=="})
        send = lambda **kw: bot.sender.click(value, message={"text": "x", "blocks": []}, **kw)  # noqa: E731

    if forge == "unsigned":
        response, _ = send(signed=False)
    elif forge == "wrong-secret":
        response, _ = send(secret="not-the-secret")
    elif forge == "stale-timestamp":
        response, _ = send(timestamp=int(time.time()) - 301)
    elif forge == "future-timestamp":
        response, _ = send(timestamp=int(time.time()) + 600)
    else:  # a signature made for another body (tampered-body), or one that is no HMAC at all (garbage-signature)
        timestamp = str(int(time.time()))
        if forge == "tampered-body":
            signature = sign(SIGNING_SECRET, timestamp, command_body("harmless@example.com"))
        else:
            signature = "v0=" + "0" * 64
        response = requests.post(
            bot.url + "/slack/events",
            data=command_body(EMAIL, fake_slack.response_url()).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
            },
            timeout=5,
        )
    assert response.status_code == 401
    time.sleep(0.2)  # give a (wrongly) started listener time to show itself
    assert fake_hubspot.calls == []
    assert fake_slack.posts == []
    # The rejection is logged, once, without the body: no customer email, no live response_url.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "missing, wrong or stale Slack signature" in logged
    assert "example.com" not in logged and "/response/" not in logged


def test_a_timestamp_just_inside_five_minutes_is_accepted(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    response, name = bot.sender.command(EMAIL, timestamp=int(time.time()) - 240)
    assert response.status_code == 200
    fake_slack.wait_for(lambda: fake_slack.responses(name))
    assert len(fake_hubspot.calls) == 1


# -- allow-lists ---------------------------------------------------------------------------------------------


def test_allow_list_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {"ALLOWED_USER_IDS": " U1, U2 ,,", "ALLOWED_CHANNEL_IDS": "C1", "ALLOWED_TEAM_IDS": ""}, dotenv=False
    )
    assert settings.allowed_user_ids == frozenset({"U1", "U2"})
    assert settings.allowed_channel_ids == frozenset({"C1"})
    assert settings.allowed_team_ids == frozenset()
    assert load_settings({}, dotenv=False).allowed_user_ids == frozenset()


def test_access_policy_empty_lists_let_everyone_in() -> None:
    assert AccessPolicy().allows("U9", "C9", "T9")
    assert AccessPolicy().allows(None, None, None)
    policy = AccessPolicy(frozenset({"U1"}), frozenset({"C1"}), frozenset({"T1"}))
    assert policy.allows("U1", "C1", "T1")
    assert not policy.allows("U1", "C1", None)
    assert not policy.allows("U2", "C1", "T1")
    assert not policy.allows("U1", "C2", "T1")
    assert not policy.allows("U1", "C1", "T2")


DENIALS = [
    ("user", {"allowed_user_ids": frozenset({"U1"})}, {"user": "U2"}),
    ("channel", {"allowed_channel_ids": frozenset({"C1"})}, {"channel": "C2"}),
    ("team", {"allowed_team_ids": frozenset({"T1"})}, {"team": "T2"}),
]


Denial = tuple[Bot, dict[str, str]]  # a bot, and the request fields of someone its allow-list leaves out


@pytest.fixture(params=[d[1:] for d in DENIALS], ids=[d[0] for d in DENIALS])
def denying(request: pytest.FixtureRequest, make_bot: Callable[..., Bot], settings: Any) -> Denial:
    """A bot whose allow-list leaves out one user, channel or team, and the request fields of who it leaves out."""
    overrides, who = request.param
    return make_bot(settings.with_overrides(**overrides)), who


def assert_refused(sent: tuple[requests.Response, str], fake_slack: FakeSlack) -> None:
    """Acked as usual, then answered privately with the refusal."""
    response, name = sent
    assert response.status_code == 200
    refusal = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert refusal["response_type"] == "ephemeral"
    assert "not allowed" in refusal["text"]


def test_a_denied_command_gets_a_refusal_and_no_hubspot_call(
    denying: Denial, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    bot, who = denying
    fake_hubspot.add_contact([participation(1)], EMAIL)
    assert_refused(bot.sender.command(EMAIL, **who), fake_slack)
    assert fake_hubspot.calls == []
    wait_until(lambda: audits(logs))
    assert audits(logs)[0]["outcome"] == "denied"
    # The allowed user, channel and team still get an answer.
    _, name = bot.sender.command(EMAIL)
    assert fake_slack.wait_for(lambda: fake_slack.responses(name))[0]["response_type"] == "in_channel"
    assert len(fake_hubspot.calls) == 1


def test_a_click_by_someone_not_allowed_is_refused(
    denying: Denial, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    bot, who = denying
    fake_hubspot.add_contact([participation(i) for i in range(15)], EMAIL)
    _, name = bot.sender.command(EMAIL)
    message = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    button = find_button(message["blocks"])
    assert button is not None
    calls = len(fake_hubspot.calls)

    assert_refused(bot.sender.click(button["value"], message=message, **who), fake_slack)
    assert len(fake_hubspot.calls) == calls
    assert fake_slack.api_calls("chat.postMessage") == []
    wait_until(lambda: len(audits(logs)) == 2)
    # The command's audit line is written after its page is posted, so it may land after the click's.
    (denial,) = [audit for audit in audits(logs) if audit["kind"] == "next"]
    assert denial["outcome"] == "denied"


# -- audit log -----------------------------------------------------------------------------------------------


def test_one_audit_line_per_command_and_per_click_without_leaks(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    fake_hubspot.add_contact([participation(i, email=EMAIL, name=f"Secret Summit {i}") for i in range(15)], EMAIL)
    _response, name = bot.sender.command(f"{EMAIL} attended", user="U7", channel="C7")
    message = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    button = find_button(message["blocks"])
    assert button is not None
    bot.sender.click(button["value"], message=message, user="U8", channel="C7")
    wait_until(lambda: len(audits(logs)) == 2)
    command, click = audits(logs)
    assert (command["kind"], command["user"], command["channel"]) == ("command", "U7", "C7")
    assert (click["kind"], click["user"], click["channel"]) == ("next", "U8", "C7")
    assert command["contact"] == click["contact"] == mask_identifier(EMAIL, bot.app.runtime.audit.mask_key)
    assert (command["state"], command["page"], command["outcome"]) == ("ATTENDED", "1", "ok")
    assert (click["state"], click["page"], click["outcome"]) == ("ATTENDED", "2", "ok")
    assert command["ref"] != click["ref"]
    record = next(r for r in logs.records if r.name == "bot.audit")
    assert record.audit["contact"] == mask_identifier(EMAIL, bot.app.runtime.audit.mask_key)  # type: ignore[attr-defined]

    everything = "\n".join(r.getMessage() for r in logs.records if r.levelno >= logging.INFO)
    for secret in (EMAIL, "jane.secret", BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET, "Secret Summit"):
        assert secret not in everything


def test_failures_log_the_reference_but_never_the_hubspot_body(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot, logs: pytest.LogCaptureFixture
) -> None:
    for status, attempts in ((400, 1), (500, 4), (403, 1)):
        fake_hubspot.script(
            *[
                Scripted(
                    status,
                    {"status": "error", "message": f"BODY-MARKER {EMAIL}", "correlationId": f"corr-{status}"},
                )
            ]
            * attempts
        )
        _response, name = bot.sender.command(EMAIL)
        notice = fake_slack.wait_for(lambda name=name: fake_slack.responses(name))[0]
        assert f"corr-{status}" in notice["text"]
    wait_until(lambda: len(audits(logs)) == 3)
    assert [m["ref"] for m in audits(logs)] == ["corr-400", "corr-500", "corr-403"]
    everything = "\n".join(r.getMessage() for r in logs.records if r.levelno >= logging.INFO)
    assert "BODY-MARKER" not in everything
    assert EMAIL not in everything
    assert HUBSPOT_TOKEN not in everything


def test_mask_identifier_hides_the_email_but_correlates() -> None:
    key = mask_key(
        load_settings({"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "HUBSPOT_ACCESS_TOKEN": "t"})
    )
    masked = mask_identifier("Jane.Secret@Example.com", key)
    assert masked.startswith("email#")
    assert "jane" not in masked.lower() and "example" not in masked.lower()
    assert masked == mask_identifier(" jane.secret@EXAMPLE.com", key)  # one contact, one mask
    assert mask_identifier("12345", key).startswith("id#")
    assert "12345" not in mask_identifier("12345", key)
    assert mask_identifier("a@b.c", key) != mask_identifier("a@b.d", key)
    # Keyed: a plain hash of a guessed email (or another deployment's key) does not reproduce the mask.
    assert hashlib.sha256(b"jane.secret@example.com").hexdigest()[:16] not in masked
    assert (
        mask_identifier("Jane.Secret@Example.com", mask_key(load_settings({"SLACK_SIGNING_SECRET": "other"}))) != masked
    )


def test_formatters_scrub_tokens_and_keep_audit_fields() -> None:
    record = logging.LogRecord("bot.audit", logging.INFO, __file__, 1, "token %s", ("xoxb-123-abc",), None)
    record.audit = {"user": "U1", "contact": "email#abc"}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "token [redacted]"
    assert line["audit"] == {"user": "U1", "contact": "email#abc"}
    plain = ScrubbingFormatter("%(message)s").format(
        logging.LogRecord("x", logging.INFO, __file__, 1, "Bearer %s xapp-1-A %s", ("pat-na1-abc", "xoxp-9"), None)
    )
    assert "pat-na1" not in plain
    assert "xapp-" not in plain
    assert "xoxp-" not in plain


def test_configure_logging_keeps_urllib3_urls_out_of_info_logs() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("urllib3").level)
    try:
        configure_logging("INFO")
        assert logging.getLogger("urllib3").level == logging.WARNING
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("urllib3").setLevel(saved[2])


# -- mrkdwn injection ----------------------------------------------------------------------------------------

HOSTILE = "<!channel> <!here> <!everyone> <@U0BOSS> <#C0SECRET> <http://evil.example|click> @here &amp; <b>"
FORBIDDEN = ("<!channel>", "<!here>", "<!everyone>", "<@U0BOSS>", "<#C0SECRET>", "<http://evil", "<b>")


def assert_rendered_as_text(message: dict[str, Any]) -> list[str]:
    texts = [str(message.get("text", ""))] + [obj["text"] for obj in mrkdwn_objects(message.get("blocks", []))]
    for obj in mrkdwn_objects(message.get("blocks", [])):
        assert obj.get("verbatim") is True, obj
    for text in texts:
        for forbidden in FORBIDDEN:
            assert forbidden not in text, (forbidden, text)
    return texts


def test_hostile_hubspot_strings_render_as_escaped_text(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    records = [
        participation(
            i,
            email=EMAIL,
            contact_id=f"{HOSTILE} 42",
            first=f"Jane {HOSTILE}",
            last=HOSTILE,
            name=f"Webinar {HOSTILE}",
            event_id=HOSTILE,
            state=f"ATTENDED {HOSTILE}" if i == 1 else "ATTENDED",
            percentage=HOSTILE,
            duration=HOSTILE,
        )
        for i in range(12)
    ]
    fake_hubspot.add_contact(records, EMAIL)
    _response, name = bot.sender.command(EMAIL)
    message = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    texts = assert_rendered_as_text(message)
    joined = "\n".join(texts)
    assert "&lt;!channel&gt;" in joined
    assert "&lt;@U0BOSS&gt;" in joined
    assert "&amp;amp;" in joined  # HubSpot's literal "&amp;" shows as "&amp;", not as "&"
    # Headers are plain_text, which Slack never parses for mentions.
    for block in message["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"

    button = find_button(message["blocks"])
    assert button is not None
    bot.sender.click(button["value"], message=message)
    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert_rendered_as_text(posted)


def test_hostile_text_in_a_hubspot_error_message_is_escaped(
    bot: Bot, fake_slack: FakeSlack, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.script(Scripted(400, {"message": HOSTILE, "correlationId": "<!channel>"}))
    _response, name = bot.sender.command(EMAIL)
    notice = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert_rendered_as_text(notice)
    assert "&lt;!channel&gt;" in notice["text"]
