"""Logging: plain or one JSON object per line, with tokens scrubbed from anything that slips through."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

# Bearer takes token characters only: `\S+` would also swallow a closing quote and break a JSON line.
_SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|pat-[a-z0-9]{2,4}-[A-Za-z0-9-]+|Bearer\s+[A-Za-z0-9._~+/=-]+)"
)


# A password inside a URL (REDIS_URL: redis://user:password@host, or ?password=…): keep the host, drop the secret.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^/\s]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s]*", re.IGNORECASE)


def redact_url(text: str) -> str:
    """`text` with any password in a URL replaced by `***`."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


# Characters that would end a log line, forge a new one, or drive the terminal reading it: C0/C1 controls (newline,
# ESC, U+0085…), DEL, the Unicode line and paragraph separators, and the bidi controls that reorder what follows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """One line, whatever the text: control characters written as escapes (`\\n`, `\\x1b`, `\\u2028`), never raw."""
    return _CONTROL.sub(_escape_one, text)


def scrub(text: str) -> str:
    return redact_url(_SECRET.sub("[redacted]", text))


def _scrub_values(value: Any) -> Any:
    """Scrub strings inside a JSON-able value before encoding, so a redaction can never break the JSON."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrub_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_values(item) for item in value]
    return value


class ScrubbingFormatter(logging.Formatter):
    """Text lines: scrubbed, and one record is one line (a traceback included, its newlines escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(scrub(super().format(record)))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            entry["audit"] = audit
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = json.dumps(_scrub_values(entry), ensure_ascii=False, default=lambda obj: scrub(str(obj)))
        # JSON escapes only C0 controls; the others are legal raw inside strings, but still split or garble lines.
        return _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", line)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Everything to stderr, so `preview --json` keeps stdout pure."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # urllib3 logs full URLs (with the contact's email) at DEBUG: keep it at WARNING even when LOG_LEVEL=DEBUG.
    logging.getLogger("urllib3").setLevel(max(root.level, logging.WARNING))
    # Whatever Python itself would print to stderr (warnings, uncaught exceptions) goes through the same handler.
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("bot").critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    logging.getLogger("bot").error(
        "uncaught %s in thread %s",
        args.exc_type.__name__,
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
