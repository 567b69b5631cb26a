"""Hostile traffic: what anyone on the internet can send to `/slack/events`, and what it costs the bot."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from bot.http_guard import Rejected, read_capped
from tests.conftest import SIGNING_SECRET, Bot
from tests.fakes import FakeSlack, block_actions_payload, command_fields
from tests.flows import wait_until

FORM = "application/x-www-form-urlencoded"


def raw_post(
    url: str,
    body: bytes,
    *,
    content_type: str = FORM,
    timestamp: str | None = None,
    signed: bool = True,
    extra: list[tuple[str, str]] | None = None,
) -> int:
    """POST with exactly these headers (one may repeat, which `requests` would merge): what a forger sends."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    headers = [("Content-Type", content_type), ("X-Slack-Request-Timestamp", ts)]
    if signed:
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        headers.append(("X-Slack-Signature", "v0=" + digest))
    headers += [*(extra or []), ("Content-Length", str(len(body)))]
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname or "", split.port, timeout=10)
    try:
        connection.putrequest("POST", split.path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def click_payload(fake_slack: FakeSlack, name: str, **changes: Any) -> bytes:
    payload = block_actions_payload("e30", message=None, response_url=fake_slack.response_url(name))
    payload.update(changes)
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(fake_slack: FakeSlack, name: str = "cmd", **changes: str) -> bytes:
    fields = command_fields("help", fake_slack.response_url(name))
    fields.update(changes)
    return urlencode(fields).encode()


# (case id, builder of (body, raw_post kwargs), expected status, signed and audited?)
def malformed_cases(fake_slack: FakeSlack) -> list[tuple[str, bytes, dict[str, Any], int, bool]]:
    now = str(int(time.time()))
    command = command_body(fake_slack)
    payload_list = urlencode({"payload": json.dumps([{}, {}])}).encode()
    return [
        ("unsigned payload not JSON", b"payload=%7Bnot-json", {"signed": False}, 401, False),
        ("unsigned payload a list", payload_list, {"signed": False}, 401, False),
        (
            "unsigned JSON content type",
            b'{"type": "block_actions"}',
            {"signed": False, "content_type": "application/json"},
            401,
            False,
        ),
        ("timestamp abc", command, {"timestamp": "abc"}, 401, False),
        ("timestamp with a fraction", command, {"timestamp": now + ".5"}, 401, False),
        ("timestamp twice", command, {"extra": [("X-Slack-Request-Timestamp", now)]}, 401, False),
        ("signature twice", command, {"extra": [("X-Slack-Signature", "v0=" + "0" * 64)]}, 401, False),
        ("signed payload not JSON", b"payload=%7Bnot-json", {}, 400, True),
        ("signed payload a list", payload_list, {}, 400, True),
        ("signed JSON content type", b'{"type": "block_actions"}', {"content_type": "application/json"}, 415, False),
        ("signed body not UTF-8", b"command=%2Fparticipations&text=\xff\xfe", {}, 400, True),
        ("signed form with neither command nor payload", b"text=hello", {}, 400, True),
        ("signed field sent twice", command + b"&user_id=U2", {}, 400, True),
        ("signed click whose user is a string", click_payload(fake_slack, "user", user="U1"), {}, 400, True),
        ("signed click whose actions are a string", click_payload(fake_slack, "actions", actions="x"), {}, 400, True),
        ("signed click without a type", click_payload(fake_slack, "type", type=None), {}, 400, True),
        (
            "signed view whose view is a string",
            click_payload(fake_slack, "view", type="view_submission", view="x"),
            {},
            400,
            True,
        ),
    ]


def test_malformed_requests_get_a_4xx_one_line_and_no_traceback(
    bot: Bot, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for case, body, kwargs, status, audited in malformed_cases(fake_slack):
        caplog.clear()
        status_code = raw_post(bot.url + "/slack/events", body, **kwargs)
        assert status_code == status, case
        records = [r for r in caplog.records if not r.name.startswith("urllib3")]
        if audited:
            wait_until(lambda: any(r.name == "bot.audit" for r in caplog.records))
            records = [r for r in caplog.records if not r.name.startswith("urllib3")]
            assert [r.name for r in records] == ["bot.audit"], (case, [r.getMessage() for r in records])
            assert "outcome=malformed_request" in records[0].getMessage()
        else:
            assert len(records) <= 1, (case, [r.getMessage() for r in records])
        assert not any(r.exc_info for r in caplog.records), case


def test_a_signed_malformed_click_still_tells_the_user(bot: Bot, fake_slack: FakeSlack) -> None:
    assert raw_post(bot.url + "/slack/events", click_payload(fake_slack, "broken", user="U1")) == 400
    notice = fake_slack.wait_for(lambda: fake_slack.responses("broken"))[0]
    assert notice["response_type"] == "ephemeral"
    assert "could not read that request" in notice["text"]


def test_an_announced_oversized_body_is_refused_unread(bot: Bot) -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the body was read")

    with pytest.raises(Rejected) as refused:
        read_capped({"CONTENT_LENGTH": str(10 * 1024 * 1024), "wsgi.input": Unreadable()}, 256 * 1024)
    assert refused.value.status.startswith("413")


def test_a_chunked_body_is_cut_off_at_the_cap() -> None:
    class Endless(io.RawIOBase):
        def __init__(self) -> None:
            self.served = 0

        def read(self, size: int = -1) -> bytes:
            self.served += size
            return b"x" * size

    stream = Endless()
    with pytest.raises(Rejected) as refused:
        read_capped({"wsgi.input": stream}, 1000)
    assert refused.value.status.startswith("413")
    assert stream.served == 1001
    assert read_capped({"CONTENT_LENGTH": "3", "wsgi.input": io.BytesIO(b"abcdef")}, 1000) == b"abc"
    with pytest.raises(Rejected):
        read_capped({"CONTENT_LENGTH": "-1", "wsgi.input": io.BytesIO(b"")}, 1000)
