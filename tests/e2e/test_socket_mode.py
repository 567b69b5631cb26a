"""`participations-bot socket`, end to end: the real CLI process, Bolt's Socket Mode client, a loopback WebSocket.

The bot asks the fake Slack Web API for a connection (`apps.connections.open`, with the app-level token), connects
to the fake Socket Mode server, and gets envelopes as Slack would push them. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hubspot import FakeHubSpot, participation
from tests.support.slack import (
    FakeSlack,
    all_text,
    command_fields,
    find_button,
    message_action_payload,
)
from tests.support.socket_mode import (
    APP_TOKEN,
    MESSAGE_TS,
    FakeSocketMode,
    SocketBot,
    accept_key,
    block_actions,
    bot_env,
    encode_frame,
    running_socket_bot,
    start_bot,
    stop,
)


@pytest.fixture
def socket_mode() -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    yield server
    server.stop()


@pytest.fixture
def socket_bot(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, socket_mode: FakeSocketMode, tmp_path: Path
) -> Iterator[SocketBot]:
    with running_socket_bot(fake_hubspot, fake_slack, socket_mode, tmp_path) as bot:
        yield bot


def test_the_bot_opens_its_connection_with_the_app_token(socket_bot: SocketBot, fake_slack: FakeSlack) -> None:
    opened = [p for p in fake_slack.posts if p.kind == "api" and p.name == "apps.connections.open"]
    assert len(opened) == 1
    assert opened[0].authorization == f"Bearer {APP_TOKEN}"
    client = socket_bot.socket_mode.clients[0]
    assert client.path == "/link"
    socket_bot.socket_mode.wait_for(lambda: socket_bot.socket_mode.pings, 5, "the client's first ping")
    assert socket_bot.socket_mode.errors == []


def test_command_is_acked_before_the_lookup_then_first_page_and_next_page_in_thread(
    socket_bot: SocketBot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    socket_mode = socket_bot.socket_mode
    fake_hubspot.add_contact([participation(i) for i in range(12)], "jane@example.com")
    fake_hubspot.latency = 1.0  # a slow HubSpot: the ack must not wait for it

    envelope = socket_mode.push_slash_command(command_fields("jane@example.com", fake_slack.response_url("first")))
    ack = socket_mode.wait_for_ack(envelope, timeout=3)
    assert ack.seconds < 1.0, f"ack took {ack.seconds:.3f} s"
    assert ack.payload is None  # an empty ack: the answer goes to the response_url
    assert fake_slack.responses("first") == []  # nothing answered yet: the lookup is still under way

    first = fake_slack.wait_for(lambda: fake_slack.responses("first"), timeout=10)[0]
    call = fake_hubspot.calls[0]
    assert ack.received_at < call.finished  # acked while HubSpot was still thinking
    assert call.identifier == "jane@example.com"
    assert first["response_type"] == "in_channel"
    assert "Showing 1–10 of 12" in all_text(first)
    button = find_button(first["blocks"])
    assert button is not None

    fake_hubspot.latency = 0.0
    click = socket_mode.push_interactive(block_actions(button, first, fake_slack.response_url("click")))
    click_ack = socket_mode.wait_for_ack(click, timeout=3)
    assert click_ack.seconds < 1.0, f"ack took {click_ack.seconds:.3f} s"

    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"), timeout=10)[0]
    assert posted["channel"] == "C1"
    assert posted["thread_ts"] == MESSAGE_TS
    assert "Showing 11–12 of 12" in all_text(posted)
    second_call = fake_hubspot.calls[-1]
    assert "after" in second_call.query
    # The clicked message loses its Next button once the page is in the thread.
    retired = fake_slack.wait_for(lambda: fake_slack.responses("click"), timeout=10)[0]
    assert retired["replace_original"] is True
    assert find_button(retired["blocks"]) is None
    assert socket_mode.errors == []


def test_the_message_shortcut_over_socket_mode_posts_in_the_messages_thread(
    socket_bot: SocketBot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    socket_mode = socket_bot.socket_mode
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    alert = {"text": "Lead: <mailto:jane@example.com|jane@example.com>", "ts": "1790000100.000100"}
    envelope = socket_mode.push_interactive(message_action_payload(alert, response_url=fake_slack.response_url("sc")))
    assert socket_mode.wait_for_ack(envelope, timeout=3).seconds < 1.0
    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"), timeout=10)[0]
    assert (posted["channel"], posted["thread_ts"]) == ("C1", "1790000100.000100")
    assert "Showing 1–3 of 3" in all_text(posted)
    assert socket_mode.errors == []


def test_bad_text_gets_an_ephemeral_explanation(
    socket_bot: SocketBot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    socket_mode = socket_bot.socket_mode
    bad = socket_mode.push_slash_command(command_fields("jane@example.com sometimes", fake_slack.response_url("bad")))
    empty = socket_mode.push_slash_command(command_fields("", fake_slack.response_url("empty")))
    for envelope in (bad, empty):
        assert socket_mode.wait_for_ack(envelope, timeout=3).seconds < 1.0

    error = fake_slack.wait_for(lambda: fake_slack.responses("bad"), timeout=10)[0]
    assert error["response_type"] == "ephemeral"
    assert "sometimes" in all_text(error)
    assert "`registered`" in all_text(error)  # what it accepts instead
    usage = fake_slack.wait_for(lambda: fake_slack.responses("empty"), timeout=10)[0]
    assert usage["response_type"] == "ephemeral"
    assert "/participations" in all_text(usage)
    assert fake_hubspot.calls == []


def test_a_forged_button_value_gets_an_ephemeral_error(socket_bot: SocketBot, fake_slack: FakeSlack) -> None:
    forged = {"action_id": "participations_next", "text": {"type": "plain_text", "text": "Next"}, "value": "{oops"}
    message = {"text": "a page", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}
    envelope = socket_bot.socket_mode.push_interactive(block_actions(forged, message, fake_slack.response_url("f")))
    assert socket_bot.socket_mode.wait_for_ack(envelope, timeout=3).seconds < 1.0
    answer = fake_slack.wait_for(lambda: fake_slack.responses("f"), timeout=10)[0]
    assert answer["response_type"] == "ephemeral"
    assert fake_slack.api_calls("chat.postMessage") == []


def test_a_refused_app_token_fails_with_one_line(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, socket_mode: FakeSocketMode, tmp_path: Path
) -> None:
    fake_slack.app_token = "xapp-1-A1-the-real-one"
    fake_slack.socket_url = socket_mode.url
    log_path = tmp_path / "bot.log"
    process = start_bot(bot_env(fake_hubspot, fake_slack), log_path, tmp_path)
    try:
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    output = log_path.read_text()
    assert code == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("participations-bot: Slack refused SLACK_APP_TOKEN (invalid_auth)"), output
    assert "Traceback" not in output
    assert APP_TOKEN not in output
    assert socket_mode.handshakes == 0


def test_sigterm_lets_a_lookup_in_flight_answer_before_exiting(
    socket_bot: SocketBot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    # Longer than closing the connection can take (slack_sdk's receive loop wakes every 3 s): the answer can only
    # arrive if the bot drains its pool after closing.
    fake_hubspot.latency = 3.5
    name = uuid.uuid4().hex[:8]
    envelope = socket_bot.socket_mode.push_slash_command(
        command_fields("jane@example.com", fake_slack.response_url(name))
    )
    socket_bot.socket_mode.wait_for_ack(envelope, timeout=3)
    fake_hubspot.wait_for(lambda: fake_hubspot.calls, timeout=5)  # the lookup is under way

    code = stop(socket_bot.process, signal.SIGTERM)
    output = socket_bot.output()
    assert fake_slack.responses(name), f"the acked command was dropped on shutdown:\n{output}"
    assert code == 0, output
    assert output.index("stopping: finishing the answers") < output.index("outcome=ok"), output


def test_the_fake_speaks_rfc_6455_and_refuses_unmasked_client_frames(socket_mode: FakeSocketMode) -> None:
    """The fake must be able to fail: a wrong handshake or an unmasked frame is refused, not tolerated."""
    host, port = socket_mode.url.removeprefix("ws://").split("/")[0].split(":")
    key = base64.b64encode(b"0123456789abcdef").decode()
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            f"GET /link HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += raw.recv(4096)
        head, _, rest = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        assert f"Sec-WebSocket-Accept: {accept_key(key)}".encode() in head
        assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3
        hello = rest
        while len(hello) < 4:
            hello += raw.recv(4096)
        assert hello[0] == 0x81 and hello[1] == 126  # a final, unmasked text frame, with a 16-bit length
        length = int.from_bytes(hello[2:4], "big")
        while len(hello) < 4 + length:
            hello += raw.recv(4096)
        assert json.loads(hello[4 : 4 + length])["type"] == "hello"

        envelope = socket_mode.push("events_api", {"x": 1})
        raw.sendall(encode_frame(0x1, json.dumps({"envelope_id": envelope}).encode(), mask=b"\x01\x02\x03\x04"))
        assert socket_mode.wait_for_ack(envelope, timeout=3).payload is None

        raw.sendall(encode_frame(0x1, b'{"envelope_id": "late"}'))  # unmasked: a protocol error
        socket_mode.wait_for(lambda: socket_mode.errors, 3, "the protocol error")
        assert socket_mode.errors == ["client frame not masked"]

    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 400 ")
