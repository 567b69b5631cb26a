"""Logging: plain or one JSON object per line, with tokens scrubbed from anything that slips through."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
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
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


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
        return json.dumps(_scrub_values(entry), ensure_ascii=False, default=lambda obj: scrub(str(obj)))


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
