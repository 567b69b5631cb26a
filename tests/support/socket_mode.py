"""A loopback stand-in for Slack's Socket Mode WebSocket endpoint (the `url` that `apps.connections.open` gives).

Standard library only: an RFC 6455 server handshake, masked client frames in (text, ping, pong, close, with
continuation), unmasked server frames out. It greets each connection with Slack's `hello`, pushes envelopes
(`slash_commands`, `interactive`) and records every `{"envelope_id": …}` ack with how long it took.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.hubspot import FakeHubSpot
from tests.support.processes import fakes_env
from tests.support.slack import FakeSlack, block_actions_payload
from tests.support.waiting import wait_on

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PATH = "/link"

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_FRAME = 1 << 20  # nothing the bot sends comes near this; a larger length means a framing bug


class ProtocolError(Exception):
    """The client broke RFC 6455 (unmasked frame, bad handshake, oversized frame)."""


def accept_key(client_key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1((client_key + WEBSOCKET_GUID).encode()).digest()).decode()  # noqa: S324


def encode_frame(opcode: int, payload: bytes, *, mask: bytes | None = None) -> bytes:
    """One final frame; servers send unmasked (`mask=None`), clients must mask."""
    length = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if length <= 125:
        header = struct.pack("!BB", 0x80 | opcode, mask_bit | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x80 | opcode, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, mask_bit | 127, length)
    if mask is None:
        return header + payload
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None  # what the client put beside envelope_id (a response payload), if anything
    seconds: float  # from our push to the ack's arrival
    received_at: float  # time.monotonic()


@dataclass
class Envelope:
    envelope_id: str
    body: dict[str, Any]
    sent_at: float = 0.0


@dataclass
class _Client:
    sock: socket.socket
    path: str
    headers: dict[str, str]
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def send(self, opcode: int, payload: bytes) -> None:
        with self.send_lock:
            if not self.closed:
                self.sock.sendall(encode_frame(opcode, payload))


class FakeSocketMode:
    """Accepts WebSocket clients on 127.0.0.1 and speaks enough of Socket Mode for slack_sdk's builtin client."""

    def __init__(self, *, read_timeout: float = 30.0) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._read_timeout = read_timeout
        self.lock = threading.Condition()
        self.clients: list[_Client] = []
        self.handshakes = 0
        self.envelopes: dict[str, Envelope] = {}
        self.acks: dict[str, Ack] = {}
        self.other_messages: list[Any] = []  # text frames that were not acks
        self.pings = 0
        self.pongs = 0
        self.closes: list[tuple[int, str]] = []  # (code, reason) of close frames the client sent
        self.errors: list[str] = []  # protocol violations, for assertions
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"ws://{host}:{port}{PATH}"

    def start(self) -> FakeSocketMode:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self.lock:
            clients = list(self.clients)
        for client in clients:
            with contextlib.suppress(OSError):
                client.send(OP_CLOSE, struct.pack("!H", 1001) + b"going away")
            self._close(client)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, sock)

    # -- one connection -------------------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(self._read_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = _Reader(sock)
        client: _Client | None = None
        try:
            client = self._handshake(sock, reader)
            if client is None:
                return
            hello = {
                "type": "hello",
                "num_connections": len(self.clients),
                "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A1"},
            }
            client.send(OP_TEXT, json.dumps(hello).encode())
            self._read_frames(client, reader)
        except ProtocolError as exc:
            self._record_error(str(exc))
            if client is not None:
                with contextlib.suppress(OSError):
                    client.send(OP_CLOSE, struct.pack("!H", 1002) + str(exc)[:100].encode())
        except (OSError, ConnectionError):
            pass  # the client went away (or we are stopping)
        finally:
            if client is not None:
                self._close(client)
            else:
                sock.close()

    def _handshake(self, sock: socket.socket, reader: _Reader) -> _Client | None:
        head = reader.until(b"\r\n\r\n", limit=16_384).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        method, _, rest = request_line.partition(" ")
        path = rest.rsplit(" ", 1)[0].split("?", 1)[0]
        key = headers.get("sec-websocket-key", "")
        valid = (
            method == "GET"
            and path == PATH
            and headers.get("upgrade", "").lower() == "websocket"
            and "upgrade" in headers.get("connection", "").lower()
            and headers.get("sec-websocket-version") == "13"
            and _is_websocket_key(key)
        )
        if not valid:
            self._record_error(f"bad handshake: {request_line!r}")
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return None
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode()
        )
        client = _Client(sock, path, headers)
        with self.lock:
            self.handshakes += 1
            self.clients.append(client)
            self.lock.notify_all()
        return client

    def _read_frames(self, client: _Client, reader: _Reader) -> None:
        fragments: list[bytes] = []
        fragment_opcode = 0
        while not self._stopping.is_set():
            first, second = reader.exactly(2)
            fin, opcode = first & 0x80, first & 0x0F
            if first & 0x70:
                raise ProtocolError("reserved bits set without an extension")
            if not second & 0x80:
                raise ProtocolError("client frame not masked")
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", reader.exactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", reader.exactly(8))
            if length > MAX_FRAME:
                raise ProtocolError(f"frame of {length} bytes")
            mask = reader.exactly(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.exactly(length)))
            if opcode >= 0x8:  # control frames: never fragmented, at most 125 bytes
                if not fin or length > 125:
                    raise ProtocolError("bad control frame")
                if opcode == OP_PING:
                    with self.lock:
                        self.pings += 1
                    client.send(OP_PONG, payload)
                elif opcode == OP_PONG:
                    with self.lock:
                        self.pongs += 1
                elif opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    with self.lock:
                        self.closes.append((code, payload[2:].decode("utf-8", "replace")))
                        self.lock.notify_all()
                    client.send(OP_CLOSE, payload[:2])
                    return
                else:
                    raise ProtocolError(f"unknown control opcode {opcode}")
                continue
            if opcode == OP_CONTINUATION:
                if not fragments:
                    raise ProtocolError("continuation without a first fragment")
            elif fragments:
                raise ProtocolError("new message inside a fragmented one")
            else:
                fragment_opcode = opcode
            fragments.append(payload)
            if not fin:
                continue
            message, fragments = b"".join(fragments), []
            if fragment_opcode == OP_TEXT:
                self._on_text(message.decode("utf-8"))
            else:
                raise ProtocolError(f"unexpected data opcode {fragment_opcode}")

    def _on_text(self, text: str) -> None:
        received = time.monotonic()
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        with self.lock:
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            envelope = self.envelopes.get(envelope_id) if isinstance(envelope_id, str) else None
            if envelope is None or not isinstance(message, dict):
                self.other_messages.append(message if message is not None else text)
            elif envelope.envelope_id in self.acks:
                self._record_error(f"second ack for {envelope.envelope_id}")
            else:
                assert isinstance(envelope_id, str)
                self.acks[envelope_id] = Ack(envelope_id, message.get("payload"), received - envelope.sent_at, received)
            self.lock.notify_all()

    def _close(self, client: _Client) -> None:
        with client.send_lock:
            client.closed = True
        with contextlib.suppress(OSError):
            client.sock.shutdown(socket.SHUT_RDWR)
        client.sock.close()
        with self.lock:
            if client in self.clients:
                self.clients.remove(client)
            self.lock.notify_all()

    def _record_error(self, error: str) -> None:
        with self.lock:
            self.errors.append(error)
            self.lock.notify_all()

    # -- what tests use -------------------------------------------------------------------------------

    def wait_for(self, predicate: Any, timeout: float = 10.0, what: str = "the Socket Mode client") -> Any:
        return wait_on(self.lock, predicate, timeout, what=what)

    def wait_for_client(self, timeout: float = 10.0) -> None:
        self.wait_for(lambda: self.clients, timeout, "a WebSocket client")

    def push(self, envelope_type: str, payload: dict[str, Any], *, client_index: int = -1, **extra: Any) -> str:
        """Send an envelope to a connected client (the latest, or `client_index`: Slack spreads payloads over an
        app's connections); returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        body = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload, **extra}
        with self.lock:
            if not self.clients:
                raise AssertionError("no Socket Mode client connected")
            client = self.clients[client_index]
            envelope = Envelope(envelope_id, body)
            self.envelopes[envelope_id] = envelope
            envelope.sent_at = time.monotonic()
        client.send(OP_TEXT, json.dumps(body).encode())
        return envelope_id

    def push_slash_command(self, fields: dict[str, Any]) -> str:
        return self.push("slash_commands", fields, accept_response_payload=True)

    def push_interactive(self, payload: dict[str, Any], client_index: int = -1) -> str:
        return self.push("interactive", payload, client_index=client_index, accept_response_payload=False)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        ack: Ack = self.wait_for(lambda: self.acks.get(envelope_id), timeout, f"the ack of {envelope_id}")
        return ack


def _is_websocket_key(key: str) -> bool:
    """A base64-encoded 16-byte nonce (RFC 6455 §4.1)."""
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


class _Reader:
    """Buffered exact reads from a socket (frames can straddle recv() boundaries)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("client closed the connection")
        self._buffer += chunk

    def exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def until(self, marker: bytes, *, limit: int) -> bytes:
        while marker not in self._buffer:
            if len(self._buffer) > limit:
                raise ProtocolError("handshake too long")
            self._fill()
        index = self._buffer.index(marker)
        data = bytes(self._buffer[:index])
        del self._buffer[: index + len(marker)]
        return data


APP_TOKEN = "xapp-1-A1-socket-test"


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass
class SocketBot:
    process: subprocess.Popen[bytes]
    socket_mode: FakeSocketMode
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def bot_env(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, **extra: str) -> dict[str, str]:
    env = fakes_env(fake_hubspot, fake_slack, SLACK_APP_TOKEN=APP_TOKEN, HUBSPOT_READ_TIMEOUT="5", **extra)
    # slack_sdk sends its WebSocket through HTTPS_PROXY when set (it ignores NO_PROXY): keep it on loopback.
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    return env


def start_bot(env: dict[str, str], log_path: Path, cwd: Path, *options: str) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:  # a file, not a pipe: a chatty bot can never block on a full pipe
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "socket", *options], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        raise


@contextlib.contextmanager
def running_socket_bot(
    fake_hubspot: FakeHubSpot,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    cwd: Path,
    *options: str,
    **extra_env: str,
) -> Iterator[SocketBot]:
    """`participations-bot socket [options]`, connected to the fake Socket Mode server; killed on exit."""
    fake_slack.app_token = APP_TOKEN
    fake_slack.socket_url = socket_mode.url
    log_path = cwd / "bot.log"
    process = start_bot(bot_env(fake_hubspot, fake_slack, **extra_env), log_path, cwd, *options)
    bot = SocketBot(process, socket_mode, log_path)
    try:
        deadline = time.monotonic() + 20
        while not socket_mode.clients:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the bot did not connect over Socket Mode:\n{bot.output()}")
            with contextlib.suppress(AssertionError):
                socket_mode.wait_for_client(timeout=0.1)
        yield bot
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)


def block_actions(button: dict[str, Any], message: dict[str, Any], response_url: str) -> dict[str, Any]:
    """A click on `button` in `message` (posted at MESSAGE_TS in C1), as Slack sends it."""
    posted = {"type": "message", "text": message["text"], "blocks": message["blocks"]}
    return block_actions_payload(
        button["value"], message=posted, response_url=response_url, message_ts=MESSAGE_TS, action_id=button["action_id"]
    )


MESSAGE_TS = "1790000001.000100"  # the first page's ts, as Slack would put it in the click's container
