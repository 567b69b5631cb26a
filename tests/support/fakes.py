"""Loopback stand-ins for HubSpot and for Slack's Web API: real HTTP servers on 127.0.0.1.

The HubSpot stand-in answers as the bundled sample server does (bot/sample/server.py: the same endpoint paths,
search matching and state filter) and adds what tests need on top: recorded calls, scripted answers and faults,
rate limits.

The bot reaches them only through `HUBSPOT_API_BASE`, `SLACK_API_URL` and the response URLs they hand out,
exactly as it reaches the real services. Both record what they received and can be told to misbehave.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from bot.hubspot.errors import SEARCH_SCOPE
from bot.sample.server import SEARCH_PATH, breakdown_identifier, in_state, matching_contacts
from tests.support.waiting import wait_on


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog (5) drops SYNs under a burst of 50 clients: a 1 s retransmit that real
    # HubSpot and Slack would not cause.
    request_queue_size = 128

    def __init__(self, handler: type[BaseHTTPRequestHandler], owner: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.owner = owner
        self.connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read timeout) while we were still answering is expected, not noise.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Base:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.server = _Server(self.handler, self)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> _Base:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Block until `predicate()` is truthy (re-checked whenever a request arrives)."""
        return wait_on(self.lock, predicate, timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body can wait ~40 ms for a delayed ACK, which
    # real HubSpot and Slack do not impose and which would be misread as the bot's own time.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes | str, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        for name, value in merged.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# -- HubSpot -------------------------------------------------------------------------------------------


@dataclass
class Scripted:
    """One canned answer; `delay` simulates a slow or hanging HubSpot."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    # Close the connection without answering (a proxy or HubSpot dropping us mid-request).
    drop: bool = False
    # Send the body one byte at a time, this many seconds apart (a server that keeps a read timeout at bay).
    drip: float = 0.0


@dataclass
class HubSpotCall:
    raw_path: str
    identifier: str
    query: dict[str, str]
    headers: dict[str, str]
    # Timing inside the fake (time.monotonic), for benchmarks: handler entry, answer written, status sent.
    started: float = 0.0
    finished: float = 0.0
    status: int = 0
    body: Any = None  # the JSON a POST (contact search) carried


def participation(
    index: int,
    *,
    email: str = "jane@example.com",
    contact_id: str = "101",
    first: str | None = "Jane",
    last: str | None = "Doe",
    state: str = "ATTENDED",
    name: str | None = None,
    event_id: str | None = None,
    occurred_at: Any = 1791571437115,
    percentage: Any = "87",
    duration: Any = 3120,
) -> dict[str, Any]:
    """A realistic breakdown result (tests override what they care about)."""
    return {
        "id": f"9000{index}",
        "createdAt": "2026-10-09T18:43:59.508Z",
        "associations": {
            "contact": {"contactId": contact_id, "email": email, "firstname": first, "lastname": last},
            "marketingEvent": {
                "marketingEventId": event_id or f"ev{index}",
                "name": name if name is not None else f"Webinar {index}",
                "externalAccountId": "acct-1",
                "externalEventId": f"ext-{index}",
            },
        },
        "properties": {
            "attendanceState": state,
            "occurredAt": occurred_at,
            "attendancePercentage": percentage,
            "attendanceDurationSeconds": duration,
        },
    }


def missing_scopes(*scopes: str) -> Scripted:
    """HubSpot's 403 for a token without `scopes` (as the breakdown endpoint words it)."""
    return Scripted(
        403,
        {
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call.",
            "correlationId": "corr-403",
            "category": "MISSING_SCOPES",
            "errors": [{"message": "missing", "context": {"requiredScopes": list(scopes)}}],
        },
    )


def _window_full(sent: deque[float], limit: int, window: float, now: float) -> bool:
    """Forget sends older than `window`; True when `limit` sends remain inside it (the next one gets a 429)."""
    while sent and sent[0] <= now - window:
        sent.popleft()
    return len(sent) >= limit


class FakeHubSpot(_Base):
    """Serves the breakdown endpoint from an in-memory data set, with opaque cursors and fault injection."""

    def __init__(self, token: str = "hs-test-token") -> None:
        self.handler = _HubSpotHandler
        super().__init__()
        self.token = token
        self.contacts: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[HubSpotCall] = []
        self.scripted: deque[Scripted] = deque()
        self.latency = 0.0
        self.unknown_contacts_404 = True
        # Rate limit enforcement: (max requests, window seconds) or None.
        self.rate_limit: tuple[int, float] | None = None
        self._sent: deque[float] = deque()
        self.rate_limited_count = 0
        self.include_rate_headers = False
        # Contact search (POST /crm/v3/objects/contacts/search): what it finds, its own 5-per-second limit (on
        # `search_clock`, which tests point at the bot's virtual clock), and a token without the scope.
        self.searchable: list[dict[str, Any]] = []
        self.search_limit: tuple[int, float] | None = (5, 1.0)
        self.search_clock: Callable[[], float] = time.monotonic
        self.search_forbidden = False
        self.search_limited_count = 0
        self._searched: deque[float] = deque()

    def add_contact(self, records: list[dict[str, Any]], *identifiers: str) -> None:
        for identifier in identifiers:
            self.contacts[identifier.lower()] = records

    def add_searchable(
        self,
        contact_id: str,
        email: str | None = None,
        first: str | None = None,
        last: str | None = None,
        company: str | None = None,
    ) -> None:
        """A contact the search can find (its participations, if any, are added with `add_contact`)."""
        properties = {"email": email, "firstname": first, "lastname": last, "company": company}
        self.searchable.append({"id": contact_id, "properties": properties, "archived": False})

    def search_calls(self) -> list[HubSpotCall]:
        with self.lock:
            return [call for call in self.calls if call.raw_path == SEARCH_PATH]

    def search_answer(self, call: HubSpotCall) -> Scripted:
        """HubSpot's CRM search: every query word is a prefix of a word of the name, email or company."""
        if call.headers.get("Authorization") != f"Bearer {self.token}":
            return Scripted(401, {"status": "error", "message": "Authentication credentials not found."})
        if self.search_forbidden:
            return Scripted(
                403,
                {
                    "status": "error",
                    "message": "This app hasn't been granted all required scopes to make this call.",
                    "correlationId": "corr-search-403",
                    "category": "MISSING_SCOPES",
                    "errors": [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [SEARCH_SCOPE]},
                        }
                    ],
                },
            )
        with self.lock:
            if self.search_limit is not None:
                limit, window = self.search_limit
                now = self.search_clock()
                if _window_full(self._searched, limit, window, now):
                    self.search_limited_count += 1
                    # No rate-limit headers on search: HubSpot's SDKs recognise it by this message.
                    return Scripted(
                        429,
                        {
                            "status": "error",
                            "message": "You have reached your secondly limit.",
                            "errorType": "RATE_LIMIT",
                            "correlationId": "corr-search-429",
                        },
                    )
                self._searched.append(now)
        body = call.body if isinstance(call.body, dict) else {}
        if not isinstance(body.get("query"), str) or not isinstance(body.get("limit"), int):
            return Scripted(400, {"status": "error", "message": "Invalid input JSON", "category": "VALIDATION_ERROR"})
        found = matching_contacts(body["query"], self.searchable, body.get("properties") or [])
        limit = max(1, min(200, body["limit"]))
        answer: dict[str, Any] = {"total": len(found), "results": found[:limit]}
        if len(found) > limit:
            answer["paging"] = {"next": {"after": str(limit)}}
        return Scripted(200, answer, delay=self.latency)

    def script(self, *answers: Scripted) -> None:
        with self.lock:
            self.scripted.extend(answers)

    def cursor_for(self, offset: int) -> str:
        return base64.urlsafe_b64encode(f"offset:{offset}:{uuid.uuid4().hex[:6]}".encode()).decode()

    @staticmethod
    def offset_from(cursor: str) -> int:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1])

    def answer(self, call: HubSpotCall) -> Scripted:
        if call.headers.get("Authorization") != f"Bearer {self.token}":
            return Scripted(
                401,
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "correlationId": "corr-401",
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        with self.lock:
            if self.rate_limit is not None:
                limit, window = self.rate_limit
                now = time.monotonic()
                if _window_full(self._sent, limit, window, now):
                    self.rate_limited_count += 1
                    return Scripted(
                        429,
                        {
                            "status": "error",
                            "message": "You have reached your ten_secondly_rolling limit.",
                            "errorType": "RATE_LIMIT",
                            "correlationId": "corr-429",
                            "policyName": "TEN_SECONDLY_ROLLING",
                        },
                        {"X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000))},
                    )
                self._sent.append(now)
                remaining = limit - len(self._sent)
            else:
                remaining = None
            if self.scripted:
                return self.scripted.popleft()
        records = self.contacts.get(call.identifier.lower())
        if records is None:
            if self.unknown_contacts_404:
                return Scripted(
                    404,
                    {
                        "status": "error",
                        "message": "Contact not found",
                        "correlationId": "corr-404",
                        "category": "OBJECT_NOT_FOUND",
                    },
                )
            records = []
        state = call.query.get("state")
        if state is not None and state not in {"REGISTERED", "CANCELLED", "ATTENDED", "NO_SHOW"}:
            return Scripted(
                400,
                {
                    "status": "error",
                    "message": "State value should be one of REGISTERED, CANCELLED, ATTENDED, NO_SHOW",
                    "correlationId": "corr-400",
                    "category": "VALIDATION_ERROR",
                },
            )
        matching = in_state(records, state)
        limit = max(1, min(100, int(call.query.get("limit", "10"))))
        offset = self.offset_from(call.query["after"]) if "after" in call.query else 0
        page = matching[offset : offset + limit]
        body: dict[str, Any] = {"total": len(matching), "results": page}
        if offset + limit < len(matching):
            cursor = self.cursor_for(offset + limit)
            body["paging"] = {"next": {"after": cursor, "link": f"{self.url}/x?after={cursor}"}}
        headers = {}
        if remaining is not None and self.rate_limit is not None:
            headers = {
                "X-HubSpot-RateLimit-Max": str(self.rate_limit[0]),
                "X-HubSpot-RateLimit-Remaining": str(remaining),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.rate_limit[1] * 1000)),
            }
        return Scripted(200, body, headers, delay=self.latency)


class _HubSpotHandler(_Handler):
    def _drip(self, status: int, data: bytes, interval: float) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        deadline = time.monotonic() + 10  # bounded, whatever the client does
        try:
            for index in range(len(data)):
                if time.monotonic() > deadline:
                    break
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(interval)
        except OSError:  # the client gave up, as it should
            self.close_connection = True

    def do_POST(self) -> None:
        started = time.monotonic()
        owner: FakeHubSpot = self.server.owner
        split = urlsplit(self.path)
        raw = self._body()
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        call = HubSpotCall(split.path, "", {}, dict(self.headers.items()), started=started, body=body)
        with owner.lock:
            owner.calls.append(call)
            owner.lock.notify_all()
        if split.path != SEARCH_PATH:
            self._send(404, json.dumps({"status": "error", "message": "no such endpoint"}))
            call.status, call.finished = 404, time.monotonic()
            return
        with owner.lock:
            scripted = owner.scripted.popleft() if owner.scripted else None
        answer = scripted or owner.search_answer(call)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.raw is not None:
            self._send(answer.status, answer.raw, {"Content-Type": "text/html", **answer.headers})
        else:
            self._send(answer.status, json.dumps(answer.body), answer.headers)
        call.status, call.finished = answer.status, time.monotonic()

    def do_GET(self) -> None:
        started = time.monotonic()
        owner: FakeHubSpot = self.server.owner
        split = urlsplit(self.path)
        raw_path = split.path
        named = breakdown_identifier(raw_path)
        identifier = named or ""
        matched = named is not None
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        call = HubSpotCall(raw_path, identifier, query, dict(self.headers.items()), started=started)
        with owner.lock:
            owner.calls.append(call)
            owner.lock.notify_all()
        if not matched:
            self._send(404, json.dumps({"status": "error", "message": "no such endpoint"}))
            call.status, call.finished = 404, time.monotonic()
            return
        answer = owner.answer(call)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer.drip:
            self._drip(answer.status, json.dumps(answer.body).encode(), answer.drip)
        elif answer.raw is not None:
            self._send(answer.status, answer.raw, {"Content-Type": "text/html", **answer.headers})
        else:
            self._send(answer.status, json.dumps(answer.body), answer.headers)
        call.status, call.finished = answer.status, time.monotonic()


# -- Slack ---------------------------------------------------------------------------------------------


@dataclass
class SlackPost:
    """Something the bot sent to Slack: a Web API call or a response_url post."""

    kind: str  # "api" or "response_url"
    name: str  # API method or response id
    body: dict[str, Any]
    # Timing inside the fake (time.monotonic), for benchmarks: handler entry and answer written.
    started: float = 0.0
    finished: float = 0.0
    # The request's Authorization header (Web API calls), to check which token the bot used.
    authorization: str | None = None


class FakeSlack(_Base):
    """Slack's Web API (`/api/<method>`) and response URLs (`/response/<id>`) on loopback."""

    def __init__(self) -> None:
        self.handler = _SlackHandler
        super().__init__()
        self.posts: list[SlackPost] = []
        self.api_errors: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.response_status: dict[str, int] = {}
        # One-off answers for a response URL, used before `response_status`: (status, headers).
        self.response_faults: dict[str, deque[tuple[int, dict[str, str]]]] = {}
        self.locales: dict[str, str] = {}
        # Seconds a Web API method takes to answer (e.g. a slow users.info).
        self.api_delay: dict[str, float] = {}
        self.uploads: dict[str, bytes] = {}
        self._ts = 1_790_000_000
        # Socket Mode: `apps.connections.open` hands out `socket_url` to a caller bearing `app_token`.
        self.socket_url: str | None = None
        self.app_token = "xapp-1-A1-test"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str | None = None) -> str:
        return f"{self.url}/response/{name or uuid.uuid4().hex[:8]}"

    def fail_api(self, method: str, error: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = {"ok": False, "error": error}
        self.api_errors.setdefault(method, deque()).append((status, body, headers or {}))

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p.body for p in self.posts if p.kind == "api" and p.name == method]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [p.body for p in self.posts if p.kind == "response_url" and (name is None or p.name == name)]

    def next_ts(self) -> str:
        with self.lock:
            self._ts += 1
            return f"{self._ts}.000100"

    def connections_open(self, authorization: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        """`apps.connections.open`: only the app-level token opens a Socket Mode connection."""
        with self.lock:
            queue = self.api_errors.get("apps.connections.open")
            if queue:
                return queue.popleft()
        token = (authorization or "").removeprefix("Bearer ")
        if not token.startswith("xapp-"):
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        if token != self.app_token or self.socket_url is None:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        return 200, {"ok": True, "url": self.socket_url}, {}

    def api_answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            queue = self.api_errors.get(method)
            if queue:
                return queue.popleft()
        if method == "auth.test":
            return 200, {"ok": True, "user": "participations", "team": "Acme", "user_id": "UBOT", "team_id": "T1"}, {}
        if method == "users.info":
            user = str(body.get("user", ""))
            info: dict[str, Any] = {"id": user}
            if user in self.locales:
                info["locale"] = self.locales[user]
            return 200, {"ok": True, "user": info}, {}
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": body.get("channel"), "ts": self.next_ts()}, {}
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:8].upper()
            return 200, {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}, {}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            if isinstance(files, str):
                files = json.loads(files)
            return 200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files or []]}, {}
        return 200, {"ok": True}, {}


class _SlackHandler(_Handler):
    def do_POST(self) -> None:
        started = time.monotonic()
        owner: FakeSlack = self.server.owner
        path = urlsplit(self.path).path
        raw = self._body()
        content_type = self.headers.get("Content-Type", "")
        if path.startswith("/upload/"):
            with owner.lock:
                owner.uploads[path.rsplit("/", 1)[1]] = raw
                owner.posts.append(SlackPost("upload", path.rsplit("/", 1)[1], {"size": len(raw)}))
                owner.lock.notify_all()
            self._send(200, "OK - uploaded", {"Content-Type": "text/plain"})
            return
        if "application/json" in content_type:
            body = json.loads(raw or b"{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            authorization = self.headers.get("Authorization")
            if method == "apps.connections.open":
                status, answer, headers = owner.connections_open(authorization)
            else:
                status, answer, headers = owner.api_answer(method, body)
            if owner.api_delay.get(method):
                time.sleep(owner.api_delay[method])
            post = SlackPost("api", method, body, started=started, authorization=authorization)
            with owner.lock:
                owner.posts.append(post)
                owner.lock.notify_all()
            self._send(status, json.dumps(answer), headers)
            post.finished = time.monotonic()
        elif path.startswith("/response/"):
            name = path[len("/response/") :]
            extra: dict[str, str] = {}
            post = SlackPost("response_url", name, body, started=started)
            with owner.lock:
                faults = owner.response_faults.get(name)
                if faults:
                    status, extra = faults.popleft()
                else:
                    status = owner.response_status.get(name, 200)
                owner.posts.append(post)
                owner.lock.notify_all()
            self._send(status, "ok" if status == 200 else "invalid", {"Content-Type": "text/plain", **extra})
            post.finished = time.monotonic()
        else:
            self._send(404, json.dumps({"ok": False, "error": "unknown_method"}))

    do_GET = do_POST


# -- Signed requests -----------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Sends what Slack sends: form-encoded, `v0`-signed slash commands and block_actions payloads."""

    def __init__(self, events_url: str, secret: str, fake_slack: FakeSlack) -> None:
        self.events_url = events_url
        self.secret = secret
        self.fake_slack = fake_slack
        self.session = requests.Session()

    def post(
        self, body: str, *, secret: str | None = None, timestamp: int | None = None, signed: bool = True
    ) -> requests.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts}
        if signed:
            headers["X-Slack-Signature"] = sign(secret or self.secret, ts, body)
        return self.session.post(self.events_url, data=body.encode(), headers=headers, timeout=10)

    def command(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        team: str = "T1",
        response_name: str | None = None,
        **kwargs: Any,
    ) -> tuple[requests.Response, str]:
        name = response_name or uuid.uuid4().hex[:8]
        fields = command_fields(text, self.fake_slack.response_url(name), user=user, channel=channel, team=team)
        return self.post(urlencode(fields), **kwargs), name

    def click(
        self, value: str, *, message: dict[str, Any] | None, response_name: str | None = None, **kwargs: Any
    ) -> tuple[requests.Response, str]:
        """`kwargs`: those of `block_actions_payload`, then those of `post` (signing)."""
        name = response_name or uuid.uuid4().hex[:8]
        fields = {k: kwargs.pop(k) for k in list(kwargs) if k in _CLICK_FIELDS}
        payload = block_actions_payload(
            value, message=message, response_url=self.fake_slack.response_url(name), **fields
        )
        return self.post(urlencode({"payload": json.dumps(payload)}), **kwargs), name

    def shortcut(
        self, message: dict[str, Any] | None, *, response_name: str | None = None, **kwargs: Any
    ) -> tuple[requests.Response, str]:
        """A message shortcut used on `message`; `kwargs`: those of `message_action_payload`, then of `post`."""
        name = response_name or uuid.uuid4().hex[:8]
        fields = {k: kwargs.pop(k) for k in list(kwargs) if k in _SHORTCUT_FIELDS}
        payload = message_action_payload(message, response_url=self.fake_slack.response_url(name), **fields)
        return self.post(urlencode({"payload": json.dumps(payload)}), **kwargs), name


_SHORTCUT_FIELDS = frozenset({"user", "channel", "team", "callback_id"})


def message_action_payload(
    message: dict[str, Any] | None,
    *,
    response_url: str,
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    callback_id: str = "participations_lookup",
) -> dict[str, Any]:
    """A message shortcut as Slack sends it: the whole message (`text`, `user`, `ts`, `thread_ts` for a reply,
    `blocks` when it has them) and a response_url that answers ephemerally in the channel."""
    payload: dict[str, Any] = {
        "type": "message_action",
        "token": "deprecated",
        "action_ts": "1790000003.000300",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "channel": {"id": channel, "name": "leads"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": "1.2.3",
        "response_url": response_url,
    }
    if message is not None:
        payload["message_ts"] = message.get("ts")
        payload["message"] = {"type": "message", "user": "U9", **message}
    return payload


def command_fields(
    text: str, response_url: str, *, user: str = "U1", channel: str = "C1", team: str = "T1"
) -> dict[str, str]:
    """A slash command's fields as Slack sends them (form-encoded over HTTP, a JSON object in Socket Mode)."""
    return {
        "token": "deprecated",
        "team_id": team,
        "team_domain": "acme",
        "channel_id": channel,
        "channel_name": "marketing",
        "user_id": user,
        "user_name": "someone",
        "command": "/participations",
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


_CLICK_FIELDS = frozenset({"user", "channel", "team", "message_ts", "thread_ts", "is_ephemeral", "action_id"})


def block_actions_payload(
    value: str,
    *,
    message: dict[str, Any] | None,
    response_url: str,
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    message_ts: str = "1790000001.000100",
    thread_ts: str | None = None,
    is_ephemeral: bool = False,
    action_id: str = "participations_next",
) -> dict[str, Any]:
    """A button click as Slack sends it; `thread_ts` when the clicked message is a thread reply."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": is_ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "api_app_id": "A1",
        "token": "deprecated",
        "container": container,
        "trigger_id": "1.2.3",
        "team": {"id": team, "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "marketing"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "participations_actions",
                "text": {"type": "plain_text", "text": "Next page"},
                "value": value,
                "type": "button",
                "action_ts": "1790000002.000200",
            }
        ],
        "state": {"values": {}},
    }
    if message is not None:
        payload["message"] = {**message, "ts": message_ts}
        if thread_ts:
            payload["message"]["thread_ts"] = thread_ts
    return payload


def find_button(blocks: Iterable[dict[str, Any]], action_id: str = "participations_next") -> dict[str, Any] | None:
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return dict(element)
    return None


def choice_buttons(blocks: Iterable[dict[str, Any]], action_id: str = "participations_choose") -> list[dict[str, Any]]:
    """The buttons beside sections (accessories) with `action_id`, in order: a choice among contacts."""
    return [
        dict(block["accessory"])
        for block in blocks
        if isinstance(block.get("accessory"), dict) and block["accessory"].get("action_id") == action_id
    ]


def all_text(message: dict[str, Any]) -> str:
    """Every text a reader can see in a message, joined (for assertions)."""
    parts: list[str] = [str(message.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts)
