"""A tiny HubSpot on 127.0.0.1 that serves `participations.json` through the breakdown endpoint (and finds its
contacts by name through the CRM contact search).

`preview --sample` points a real `HubSpotClient` at it, so the sample goes through the same URL building,
authentication header, cursor paging, error mapping and parsing as production. Cursors are opaque to the client
but stateless here (they encode an offset), so `--after` works across separate `preview` runs, and an unknown
identifier gets HubSpot's 404 `OBJECT_NOT_FOUND`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from bot.config import Settings

SAMPLE_TOKEN = "sample-token-not-a-secret"  # noqa: S105  (the loopback server checks it, like HubSpot would)
STATES = ("REGISTERED", "CANCELLED", "ATTENDED", "NO_SHOW")
BREAKDOWN_PREFIXES = (
    "/marketing/v3/marketing-events/participations/contacts/",
    "/marketing/marketing-events/2026-09/participations/contacts/",
)
CURSOR_PREFIX = "sample:"
SEARCH_PATH = "/crm/v3/objects/contacts/search"

Answer = tuple[int, dict[str, Any]]


@lru_cache(maxsize=1)
def load_sample() -> dict[str, list[dict[str, Any]]]:
    """Identifier (lower-cased email or contact id) → that contact's participation records."""
    raw = resources.files("bot.sample").joinpath("participations.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    by_identifier: dict[str, list[dict[str, Any]]] = {}
    for contact in data["contacts"]:
        for identifier in contact["identifiers"]:
            by_identifier[str(identifier).lower()] = contact["results"]
    return by_identifier


def sample_identifiers() -> list[tuple[str, str, int]]:
    """(email, contact id, number of records) for each sample contact, for help texts."""
    raw = resources.files("bot.sample").joinpath("participations.json").read_text(encoding="utf-8")
    return [(c["identifiers"][0], c["identifiers"][1], len(c["results"])) for c in json.loads(raw)["contacts"]]


@lru_cache(maxsize=1)
def load_directory() -> tuple[dict[str, Any], ...]:
    """The sample contacts as HubSpot's CRM search returns them: `{"id", "properties": {email, names, company}}`."""
    raw = resources.files("bot.sample").joinpath("participations.json").read_text(encoding="utf-8")
    directory: list[dict[str, Any]] = []
    for contact in json.loads(raw)["contacts"]:
        email, contact_id = contact["identifiers"][:2]
        named: dict[str, Any] = next((r["associations"]["contact"] for r in contact["results"]), {})
        properties = {
            "email": email,
            "firstname": named.get("firstname"),
            "lastname": named.get("lastname"),
            "company": contact.get("company"),
        }
        directory.append({"id": str(contact_id), "properties": properties, "archived": False})
    return tuple(directory)


def search(body: Any, authorization: str | None, directory: Sequence[Mapping[str, Any]]) -> Answer:
    """HubSpot's contact search over the sample, as a pure function: every word of `query` must begin a word of
    the contact's name, email or company (HubSpot matches by word prefix)."""
    if authorization != f"Bearer {SAMPLE_TOKEN}":
        return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
    if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
        return _error(400, "Invalid input JSON: query is required", "VALIDATION_ERROR")
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 200:
        return _error(400, f"Invalid limit: {limit}", "VALIDATION_ERROR")
    asked = body.get("properties")
    wanted: list[Any] = asked if isinstance(asked, list) else []
    found = matching_contacts(body["query"], directory, wanted)
    answer: dict[str, Any] = {"total": len(found), "results": found[:limit]}
    if len(found) > limit:
        answer["paging"] = {"next": {"after": str(limit)}}
    return 200, answer


def matching_contacts(
    query: str, directory: Sequence[Mapping[str, Any]], wanted: Sequence[Any]
) -> list[dict[str, Any]]:
    """The contacts HubSpot's search finds for `query`, with only the `wanted` properties: every word of the query
    must begin a word of the contact's name, email or company (HubSpot matches by word prefix)."""
    words = query.casefold().split()
    found = []
    for contact in directory:
        text = " ".join(str(value) for value in contact["properties"].values() if value)
        tokens = re.split(r"[\s@.]+", text.casefold())
        if words and all(any(token.startswith(word) for token in tokens) for word in words):
            properties = {key: value for key, value in contact["properties"].items() if key in wanted}
            found.append({**contact, "properties": properties})
    return found


def breakdown_identifier(path: str) -> str | None:
    """The contact a breakdown request names (one path segment, URL-decoded); None for any other path."""
    identifier: str | None = None
    for prefix in BREAKDOWN_PREFIXES:
        if path.startswith(prefix) and path.endswith("/breakdown"):
            segment = path[len(prefix) : -len("/breakdown")]
            if segment and "/" not in segment:
                identifier = unquote(segment)
    return identifier


def in_state(records: Sequence[Mapping[str, Any]], state: str | None) -> list[Mapping[str, Any]]:
    """The participations in `state` (all of them when None), in HubSpot's order."""
    return [r for r in records if state is None or r.get("properties", {}).get("attendanceState") == state]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit():
        return None
    return int(text[len(CURSOR_PREFIX) :])


def _error(status: int, message: str, category: str | None) -> Answer:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
    if category:
        body["category"] = category
    return status, body


def answer(
    path: str,
    query: Mapping[str, str],
    authorization: str | None,
    records_by_identifier: Mapping[str, list[dict[str, Any]]],
    *,
    link_base: str = "",
) -> Answer:
    """HubSpot's behaviour for one breakdown request, as a pure function (status, JSON body)."""
    identifier = breakdown_identifier(path)
    if identifier is None:
        return _error(404, "no such endpoint", None)
    if authorization != f"Bearer {SAMPLE_TOKEN}":
        return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
    state = query.get("state")
    if state is not None and state not in STATES:
        return _error(400, "State value should be one of REGISTERED, CANCELLED, ATTENDED, NO_SHOW", "VALIDATION_ERROR")
    raw_limit = query.get("limit", "10")
    if not raw_limit.isdigit():
        return _error(400, f"Invalid limit: {raw_limit}", "VALIDATION_ERROR")
    limit = max(1, min(100, int(raw_limit)))
    offset = 0
    if "after" in query:
        decoded = decode_cursor(query["after"])
        if decoded is None:
            return _error(400, "Invalid paging cursor (after)", "VALIDATION_ERROR")
        offset = decoded
    records = records_by_identifier.get(identifier.lower())
    if records is None:
        return _error(404, "Contact not found", "OBJECT_NOT_FOUND")
    matching = in_state(records, state)
    body: dict[str, Any] = {"total": len(matching), "results": matching[offset : offset + limit]}
    if offset + limit < len(matching):
        cursor = encode_cursor(offset + limit)
        body["paging"] = {"next": {"after": cursor, "link": f"{link_base}{quote(path)}?after={cursor}"}}
    return 200, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, records: Mapping[str, list[dict[str, Any]]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.records = records


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdout and stderr stay the preview's own
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 64 * 1024)) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if urlsplit(self.path).path == SEARCH_PATH:
            status, answer_body = search(body, self.headers.get("Authorization"), load_directory())
        else:
            status, answer_body = _error(404, "no such endpoint", None)
        self._reply(status, answer_body)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if "correlationId" in body:
            self.send_header("X-HubSpot-Correlation-Id", str(body["correlationId"]))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(split.query).items()}
        host, port = self.server.server_address[:2]
        status, body = answer(
            split.path,
            query,
            self.headers.get("Authorization"),
            self.server.records,
            link_base=f"http://{host!s}:{port}",
        )
        self._reply(status, body)


class SampleHubSpot:
    """`with SampleHubSpot() as hubspot:` serves the sample on 127.0.0.1 (a free port) until the block ends."""

    def __init__(self, records: Mapping[str, list[dict[str, Any]]] | None = None) -> None:
        self._server = _Server(records if records is not None else load_sample())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sample-hubspot", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings_for(self, settings: Settings) -> Settings:
        """The same settings, pointed at this server (no portal id: sample contacts have no HubSpot record)."""
        return settings.with_overrides(
            hubspot_api_base=self.url,
            hubspot_access_token=SAMPLE_TOKEN,
            hubspot_api_version="v3",
            hubspot_portal_id="",
        )

    def __enter__(self) -> SampleHubSpot:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
