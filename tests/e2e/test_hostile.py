"""Hostile traffic: what anyone on the internet can send to `/slack/events`, and what it costs the bot."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import logging
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from bot.http_guard import Rejected, read_capped
from tests.conftest import Bot
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.processes import serving
from tests.support.slack import FakeSlack, SlackSender, block_actions_payload, command_fields
from tests.support.tokens import SIGNING_SECRET
from tests.support.waiting import wait_until

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


# -- against the real `serve` process ------------------------------------------------------------------------


def worker_pid(master: int) -> int:
    """gunicorn's worker: the master's only child."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("no worker process")


def peak_memory_kib(pid: int) -> int:
    """VmHWM: the most resident memory the process has ever used."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_unsigned_10mb_bodies_are_refused_without_being_read(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Eight at once, announced and chunked: each a 413, and the worker's peak memory barely moves."""
    body = b"payload=" + b"[" + b"{}," * (10 * 1024 * 1024 // 3) + b"{}]"

    def announced(_: int) -> int:
        return requests.post(url, data=body, headers={"Content-Type": FORM}, timeout=20).status_code

    def chunked(_: int) -> int:
        pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
        return requests.post(url, data=pieces, headers={"Content-Type": FORM}, timeout=20).status_code

    with serving(fake_hubspot, fake_slack, tmp_path) as served:
        url = served.url + "/slack/events"
        worker = worker_pid(served.process.pid)
        before = peak_memory_kib(worker)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(announced, range(4))) + list(pool.map(chunked, range(4)))
        after = peak_memory_kib(worker)
        assert statuses == [413] * 8
        # Measured: +0.4 MiB (Bolt parsing the same bodies first: +245 MiB for one).
        assert after - before < 4 * 1024, f"peak memory grew by {after - before} KiB"
        output = served.stop()
    assert "Traceback" not in output


def test_slow_and_stalled_clients_never_delay_an_ack(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """40 connections trickle their headers, 20 stall mid-body: signed commands are still acked at once."""
    fake_hubspot.add_contact([participation(1)], "jane@example.com")
    deadline = 2.0
    with serving(fake_hubspot, fake_slack, tmp_path, REQUEST_DEADLINE_SECONDS=str(deadline)) as served:
        port = int(served.url.rsplit(":", 1)[1])
        attack = SlowClients(port, trickling=40, stalled=20)
        attack.start()
        try:
            attack.wait_connected()
            sender = SlackSender(served.url + "/slack/events", SIGNING_SECRET, fake_slack)
            acks: list[float] = []
            for _ in range(4):
                started = time.monotonic()
                response, name = sender.command("jane@example.com")
                acks.append(time.monotonic() - started)
                assert response.status_code == 200
                fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=5)
                time.sleep(0.4)
            assert max(acks) < 3.0, acks
            # Past the deadline, the server has closed the stalled connections (and the attackers re-opened).
            time.sleep(max(0.0, attack.started + deadline + 1.5 - time.monotonic()))
            assert attack.closed_by_server() >= 20, attack.closed_by_server()
        finally:
            attack.stop()
        output = served.stop()
    assert "Traceback" not in output


class SlowClients:
    """Connections that send a request a byte at a time, or the headers and then nothing; re-opened when closed."""

    def __init__(self, port: int, *, trickling: int, stalled: int) -> None:
        self.port = port
        self.kinds = ["trickle"] * trickling + ["stall"] * stalled
        self.sockets: list[socket.socket | None] = [None] * len(self.kinds)
        self.sent = [0] * len(self.kinds)
        self.closed = 0
        self.started = 0.0
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    REQUEST = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: " + FORM.encode() + b"\r\n"
    TRICKLED = REQUEST + b"X-Pad: " + b"a" * 4000  # headers that never end

    def start(self) -> None:
        self.started = time.monotonic()
        self.thread.start()

    def wait_connected(self) -> None:
        assert self.connected.wait(10)

    def closed_by_server(self) -> int:
        return self.closed

    def open(self, index: int) -> None:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        connection.setblocking(False)
        if self.kinds[index] == "stall":  # a body announced, barely begun
            connection.send(self.REQUEST + b"Content-Length: 4000\r\n\r\ncommand=")
        self.sockets[index] = connection
        self.sent[index] = 0

    def run(self) -> None:
        bounded = time.monotonic() + 30
        for index in range(len(self.kinds)):
            self.open(index)
        self.connected.set()
        while not self.stopping.is_set() and time.monotonic() < bounded:
            for index, connection in enumerate(self.sockets):
                assert connection is not None
                try:
                    if connection.recv(1024) == b"":  # the server closed it
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:
                    self.closed += 1
                    connection.close()
                    self.open(index)
                    continue
                if self.kinds[index] == "trickle":
                    byte = (self.REQUEST + b"X-Pad: " + b"a" * 4000)[
                        self.sent[index] % 4000 : self.sent[index] % 4000 + 1
                    ]
                    try:
                        connection.send(byte)
                        self.sent[index] += 1
                    except OSError:
                        pass
            time.sleep(0.25)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.sockets:
            if connection is not None:
                connection.close()


FORGED = "\n2026-12-01 10:00:00,000 INFO bot.audit: command user=UADMIN outcome=ok"
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.]+): "
)


def test_with_json_logs_every_line_the_server_writes_is_one_json_object(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """gunicorn's and waitress' lines included, through forged, malformed, oversized and failing requests."""
    fake_hubspot.add_contact([participation(1)], "jane@example.com")
    with serving(fake_hubspot, fake_slack, tmp_path, LOG_FORMAT="json") as served:
        url = served.url + "/slack/events"
        sender = SlackSender(url, SIGNING_SECRET, fake_slack)
        _response, name = sender.command("jane@example.com")
        fake_slack.wait_for(lambda: fake_slack.responses(name))
        assert sender.command("jane@example.com", secret="wrong")[0].status_code == 401
        for case, body, kwargs, status, _audited in malformed_cases(fake_slack):
            assert raw_post(url, body, **kwargs) == status, case
        assert requests.post(url, data=b"x" * 300_000, timeout=10).status_code == 413
        fake_hubspot.script(Scripted(400, {"message": "bad" + FORGED, "correlationId": "c1" + FORGED + "\x1b[2J"}))
        _response, name = sender.command("jane@example.com", user="U1" + FORGED)
        fake_slack.wait_for(lambda: fake_slack.responses(name))
        time.sleep(0.3)  # the audit line follows the answer
        output = served.stop()
    entries = [json.loads(line) for line in output.splitlines()]  # splitlines also splits at U+2028, U+0085…
    assert all(isinstance(entry, dict) for entry in entries)
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "bot.audit", "bot.http"} <= loggers, loggers
    assert not any("exception" in entry for entry in entries)
    audits = [entry for entry in entries if entry["logger"] == "bot.audit"]
    assert audits[-1]["audit"]["user"] == "U1" + FORGED
    assert audits[-1]["audit"]["reference"] == "c1" + FORGED + "\x1b[2J"
    assert "\x1b" not in output


def test_forged_newlines_and_control_characters_never_start_a_log_line_or_reach_slack(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    records = [
        participation(0, first="Jane\nINFO forged", name="Webinar\nSecond line\u2028third"),
        participation(1, name="\u202eevil\u202c txt.exe \u2066isolated\u2069 \x1b[31mred"),
    ]
    fake_hubspot.add_contact(records, "jane@example.com")
    with serving(fake_hubspot, fake_slack, tmp_path) as served:
        sender = SlackSender(served.url + "/slack/events", SIGNING_SECRET, fake_slack)
        _response, name = sender.command("jane@example.com", user="U1" + FORGED + "\x1b[2J")
        page = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
        fake_hubspot.script(Scripted(400, {"message": "bad\x1b[31m", "correlationId": "c1" + FORGED + "\u2028x"}))
        _response, name = sender.command("jane@example.com")
        notice = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
        time.sleep(0.3)  # the audit line follows the answer
        output = served.stop()

    lines = output.split("\n")[:-1]
    assert all(TEXT_LINE.match(line) for line in lines), [line for line in lines if not TEXT_LINE.match(line)]
    audits = [line for line in lines if TEXT_LINE.match(line)["logger"] == "bot.audit"]  # type: ignore[index]
    assert len(audits) == 2, audits
    assert "user=U1\\n2026-12-01" in audits[0]
    assert "ref=c1\\n2026-12-01" in audits[1] and "\\u2028x" in audits[1]
    assert not any(char in output for char in "\x1b\u2028\r\x85")

    shown = json.dumps([page, notice], ensure_ascii=False)
    assert "Webinar Second line third" in shown
    assert "Jane INFO forged" in shown
    assert "evil txt.exe isolated [31mred" in shown
    for hidden in ("\u202e", "\u202c", "\u2066", "\u2069", "\x1b", "\u2028", "Jane\\nINFO", "Webinar\\nSecond"):
        assert hidden not in shown, hidden
