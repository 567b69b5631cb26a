"""The layer in front of Bolt: refuse oversized, unsigned and malformed requests before anything parses them.

`POST /slack/events` is public; only the v0 signature tells Slack from anyone else. Bolt reads and parses the
whole body (form, then the JSON `payload`) *before* it checks the signature, so an anonymous 10 MB body cost
hundreds of MB, and a malformed one a 500 with a traceback. Here the body is read up to a cap, its signature is
checked on the raw bytes, and only a signed request whose shape Bolt can parse reaches Bolt, as verified bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("bot.http")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Slack's own rule (and Bolt's): a signature more than five minutes from now, either way, is a replay.
MAX_SIGNATURE_AGE_SECONDS = 300
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_READ_CHUNK = 64 * 1024
FORM = "application/x-www-form-urlencoded"


class Rejected(Exception):
    """A request refused before Bolt: the status line and why (one log line, no traceback)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_capped(environ: dict[str, Any], max_bytes: int) -> bytes:
    """The body, never more than `max_bytes` of it in memory: a larger one is refused, announced or not."""
    raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if raw_length:
        if not raw_length.isdigit():
            raise Rejected("400 Bad Request", "a Content-Length that is not a number")
        length = int(raw_length)
        if length > max_bytes:
            raise Rejected("413 Content Too Large", f"a body of {length} bytes (the cap is {max_bytes})")
        return _read_up_to(stream, length) if length else b""
    # No length (chunked): read at most one byte past the cap to know it was exceeded.
    body = _read_up_to(stream, max_bytes + 1)
    if len(body) > max_bytes:
        raise Rejected("413 Content Too Large", f"a chunked body over {max_bytes} bytes")
    return body


def _read_up_to(stream: Any, limit: int) -> bytes:
    if stream is None:
        return b""
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(_READ_CHUNK, remaining))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def verify_signature(environ: dict[str, Any], body: bytes, secret: str, now: float) -> None:
    """Slack's v0 scheme on the raw bytes: one timestamp of digits within five minutes, a constant-time compare."""
    # A header sent twice reaches WSGI joined with a comma, which the patterns refuse.
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        raise Rejected("401 Unauthorized", "missing or malformed")
    if abs(now - int(timestamp)) > MAX_SIGNATURE_AGE_SECONDS:
        raise Rejected("401 Unauthorized", "stale")
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest("v0=" + expected, signature):
        raise Rejected("401 Unauthorized", "wrong")


# Fields of an interactive payload that Slack always sends as objects (or null); Bolt and the listeners read into
# them, and a string there was a 500 (or a click that ended in silence).
_OBJECT_FIELDS = ("user", "team", "channel", "container", "message", "view", "enterprise", "state")


class Malformed(Rejected):
    """A signed request refused for its shape; `response_url` (if it had one) can still tell the user."""

    def __init__(self, reason: str, response_url: str | None = None) -> None:
        super().__init__("400 Bad Request", reason)
        self.response_url = response_url


def check_shape(environ: dict[str, Any], body: bytes) -> None:
    """What Bolt would choke on (a 500 with a traceback) or could not route, refused with a 4xx instead.

    Slack sends this app only slash commands, interactivity and SSL checks, all form-encoded (the manifest
    subscribes to no Events API event, Slack's only JSON body).
    """
    content_type = str(environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if content_type != FORM:
        raise Rejected("415 Unsupported Media Type", f"content type {content_type or 'none'!r}")
    try:
        fields = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Malformed("a body that is not UTF-8") from None
    if any(len(values) != 1 for values in fields.values()):
        raise Malformed("a field sent twice")
    if "payload" not in fields:
        if "command" not in fields and "ssl_check" not in fields:
            raise Malformed("neither a command nor a payload")
        return
    try:
        payload = json.loads(fields["payload"][0])
    except ValueError:
        raise Malformed("a payload that is not JSON") from None
    if not isinstance(payload, dict):
        raise Malformed(f"a payload that is a JSON {type(payload).__name__}, not an object")
    response_url = payload.get("response_url")
    if not isinstance(response_url, str) or not response_url.startswith(("https://", "http://")):
        response_url = None
    if not isinstance(payload.get("type"), str):
        raise Malformed("a payload without a type", response_url)
    for name in _OBJECT_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], dict):
            raise Malformed(f"a payload whose {name} is not an object", response_url)
    actions = payload.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        raise Malformed("a payload whose actions are not a list of objects", response_url)


def guard(
    inner: WSGIApp,
    *,
    signing_secret: str,
    max_body_bytes: int,
    on_malformed: Callable[[Malformed], None] = lambda _refusal: None,
    clock: Callable[[], float] = time.time,
) -> WSGIApp:
    """Wrap `inner` (Bolt's WSGI handler): it only ever sees signed, well-formed, bounded requests.

    `on_malformed` is told about a signed request refused for its shape: Slack (or someone holding the secret) sent
    it, so it deserves an audit line, and a word to the user when it came with a response_url.
    """

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _refuse(start_response, "405 Method Not Allowed", [("Allow", "POST")])
        try:
            body = read_capped(environ, max_body_bytes)
            try:
                verify_signature(environ, body, signing_secret, clock())
            except Rejected as rejected:
                log.warning(
                    "rejected a request to %s: missing, wrong or stale Slack signature (check SLACK_SIGNING_SECRET)",
                    environ.get("PATH_INFO"),
                )
                return _refuse(start_response, rejected.status)
            check_shape(environ, body)
        except Rejected as rejected:
            if isinstance(rejected, Malformed):  # signed: its one line is the audit line
                on_malformed(rejected)
            else:
                log.warning("refused a request to %s: %s", environ.get("PATH_INFO"), rejected.reason)
            return _refuse(start_response, rejected.status)
        verified = dict(environ)
        verified["wsgi.input"] = io.BytesIO(body)
        verified["CONTENT_LENGTH"] = str(len(body))
        verified.pop("HTTP_TRANSFER_ENCODING", None)
        return inner(verified, start_response)

    return guarded


def _refuse(start_response: Callable[..., Any], status: str, extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = (status.split(" ", 1)[1] + "\n").encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *(extra or [])]
    start_response(status, headers)
    return [body]
