"""A loopback stand-in for HubSpot: a real HTTP server on 127.0.0.1.

The HubSpot stand-in answers as the bundled sample server does (bot/sample/server.py: the same endpoint paths,
search matching and state filter) and adds what tests need on top: recorded calls, scripted answers and faults,
rate limits.

The bot reaches it only through `HUBSPOT_API_BASE`, exactly as it reaches the real service.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.hubspot.errors import SEARCH_SCOPE
from bot.sample.server import SEARCH_PATH, breakdown_identifier, in_state, matching_contacts
from tests.support.loopback import LoopbackHandler, LoopbackServer


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


class FakeHubSpot(LoopbackServer):
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


class _HubSpotHandler(LoopbackHandler):
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
            call.status, call.finished = 404, time.monotonic()
            self._send(404, json.dumps({"status": "error", "message": "no such endpoint"}))
            return
        with owner.lock:
            scripted = owner.scripted.popleft() if owner.scripted else None
        answer = scripted or owner.search_answer(call)
        if answer.delay:
            time.sleep(answer.delay)
        # Recorded before the bytes go out: the bot may act on the answer before this thread runs again.
        call.status, call.finished = answer.status, time.monotonic()
        if answer.raw is not None:
            self._send(answer.status, answer.raw, {"Content-Type": "text/html", **answer.headers})
        else:
            self._send(answer.status, json.dumps(answer.body), answer.headers)

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
            call.status, call.finished = 404, time.monotonic()
            self._send(404, json.dumps({"status": "error", "message": "no such endpoint"}))
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
            call.status, call.finished = answer.status, time.monotonic()
            return
        # Recorded before the bytes go out: the bot may act on the answer before this thread runs again.
        call.status, call.finished = answer.status, time.monotonic()
        if answer.raw is not None:
            self._send(answer.status, answer.raw, {"Content-Type": "text/html", **answer.headers})
        else:
            self._send(answer.status, json.dumps(answer.body), answer.headers)
