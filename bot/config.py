"""Settings, read once from the environment (and `.env`), in one place.

Every other module receives a `Settings` object; nothing else reads `os.environ`. Tests build `Settings`
directly, pointing the bot at loopback fakes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

Mode = Literal["http", "socket"]

DEFAULT_HUBSPOT_API_BASE = "https://api.hubapi.com"
DEFAULT_HUBSPOT_APP_BASE = "https://app.hubspot.com"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SUPPORTED_LANGUAGES = ("en", "pt-BR")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line that names it."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    hubspot_access_token: str = ""
    hubspot_api_base: str = DEFAULT_HUBSPOT_API_BASE
    hubspot_api_version: str = "v3"
    hubspot_app_base: str = DEFAULT_HUBSPOT_APP_BASE
    hubspot_portal_id: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    # Concurrency and pacing towards HubSpot.
    # 32 lookups in flight fit inside the smallest HubSpot tier's window (100 per 10 s) with room to spare, and
    # keep a burst of users from queueing behind each other; the rolling cap below paces anything sustained.
    hubspot_max_concurrency: int = 32
    # An optional lower cap (a token shared with other tools); None follows HubSpot's X-HubSpot-RateLimit-Max.
    hubspot_requests_per_10s: int | None = None
    hubspot_connect_timeout: float = 3.05
    hubspot_read_timeout: float = 8.0
    hubspot_retry_budget_seconds: float = 15.0
    slack_timeout: float = 10.0  # seconds for one Slack Web API or response_url call
    # Above the HubSpot concurrency, so Slack posts and locale lookups never hold a lookup back.
    listener_workers: int = 64
    http_threads: int = 16
    # Slack's payloads are a few kB; anything larger is refused unread (413).
    max_request_bytes: int = 256 * 1024
    # Seconds a client may take to send one whole request (headers and body) before its connection is closed.
    request_deadline_seconds: float = 10.0
    # Access control: empty means "everyone in the workspace".
    allowed_user_ids: frozenset[str] = field(default_factory=frozenset)
    allowed_channel_ids: frozenset[str] = field(default_factory=frozenset)
    allowed_team_ids: frozenset[str] = field(default_factory=frozenset)
    # Summary and export read every page up to this many records.
    max_export_records: int = 1000
    default_language: str = "en"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Shared state (several processes): empty keeps everything in this process's memory.
    redis_url: str = ""
    redis_timeout: float = 0.2  # seconds for one Redis call: a frozen Redis costs a lookup this much, once
    redis_retry_seconds: float = 5.0  # after a Redis failure, memory is used this long before Redis is tried again
    web_concurrency: int = 1  # gunicorn worker processes for `serve` (more than one needs REDIS_URL)
    # `/metrics` needs `Authorization: Bearer <metrics_token>` when set; open when empty.
    metrics_token: str = ""
    # Socket Mode only: serve /metrics and /healthz on this port (0: no HTTP port at all).
    metrics_port: int = 0

    @property
    def hubspot_breakdown_url_prefix(self) -> str:
        """The URL up to (and excluding) the contact identifier segment."""
        base = self.hubspot_api_base.rstrip("/")
        version = self.hubspot_api_version.strip("/")
        if version.startswith("v"):
            path = f"/marketing/{version}/marketing-events/participations/contacts/"
        else:  # date-based versions, e.g. 2026-09
            path = f"/marketing/marketing-events/{version}/participations/contacts/"
        return base + path

    @property
    def hubspot_search_url(self) -> str:
        """CRM contact search (finding a contact by name); v3 whatever HUBSPOT_API_VERSION says, which is about the
        marketing-events API only."""
        return self.hubspot_api_base.rstrip("/") + "/crm/v3/objects/contacts/search"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def missing_for(self, mode: Mode) -> list[str]:
        """Names of the variables that `mode` needs and that are empty."""
        needed = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "HUBSPOT_ACCESS_TOKEN": self.hubspot_access_token,
        }
        if mode == "http":
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        else:
            needed["SLACK_APP_TOKEN"] = self.slack_app_token
        return [name for name, value in needed.items() if not value]

    def require(self, mode: Mode) -> None:
        missing = self.missing_for(mode)
        if missing:
            names = ", ".join(missing)
            raise ConfigError(
                f"missing required setting(s): {names} (set them in the environment or in .env; see .env.example)"
            )
        if mode == "socket" and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")


_N = TypeVar("_N", int, float)


def _number(env: Mapping[str, str], name: str, parse: Callable[[str], _N], what: str) -> tuple[str, _N] | None:
    """The variable's text and its value read with `parse`; None when it is unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return raw, parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1, maximum: int = 10_000) -> int:
    read = _number(env, name, int, "a whole number")
    if read is not None and not minimum <= read[1] <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {read[1]}")
    return default if read is None else read[1]


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    read = _number(env, name, float, "a number of seconds")
    if read is not None and read[1] <= 0:
        raise ConfigError(f"{name} must be positive, got {read[0]!r}")
    return default if read is None else read[1]


def _id_set(env: Mapping[str, str], name: str) -> frozenset[str]:
    return frozenset(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _language(raw: str) -> str:
    for language in SUPPORTED_LANGUAGES:
        if raw.strip().lower() == language.lower():
            return language
    raise ConfigError(f"BOT_DEFAULT_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}, got {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Build settings from the environment; `.env` fills gaps (the real environment wins)."""
    if environ is None:
        if dotenv:
            from dotenv import find_dotenv, load_dotenv

            # usecwd: look beside where the bot is run, not beside this (installed) module.
            load_dotenv(find_dotenv(usecwd=True), override=False)
        environ = os.environ
    env = environ

    slack_api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not slack_api_url.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL must start with http:// or https://, got {slack_api_url!r}")
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"
    api_base = env.get("HUBSPOT_API_BASE", "").strip() or DEFAULT_HUBSPOT_API_BASE
    if not api_base.startswith(("http://", "https://")):
        raise ConfigError(f"HUBSPOT_API_BASE must start with http:// or https://, got {api_base!r}")
    version = env.get("HUBSPOT_API_VERSION", "").strip() or "v3"
    if not (version in {"v3"} or _looks_like_dated_version(version)):
        raise ConfigError(f"HUBSPOT_API_VERSION must be v3 or a dated version like 2026-09, got {version!r}")
    log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in {"text", "json"}:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")

    return Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN", "").strip(),
        hubspot_api_base=api_base,
        hubspot_api_version=version,
        hubspot_app_base=(env.get("HUBSPOT_APP_BASE", "").strip() or DEFAULT_HUBSPOT_APP_BASE).rstrip("/"),
        hubspot_portal_id=_portal_id(env.get("HUBSPOT_PORTAL_ID", "").strip()),
        slack_api_url=slack_api_url,
        port=_int(env, "PORT", 3000, 1, 65535),
        hubspot_max_concurrency=_int(env, "HUBSPOT_MAX_CONCURRENCY", 32, 1, 100),
        hubspot_requests_per_10s=_optional_int(env, "HUBSPOT_REQUESTS_PER_10S", 1, 1000),
        hubspot_read_timeout=_float(env, "HUBSPOT_READ_TIMEOUT", 8.0),
        hubspot_retry_budget_seconds=_float(env, "HUBSPOT_RETRY_BUDGET_SECONDS", 15.0),
        listener_workers=_int(env, "LISTENER_WORKERS", 64, 1, 256),
        http_threads=_int(env, "HTTP_THREADS", 16, 1, 256),
        max_request_bytes=_int(env, "MAX_REQUEST_BYTES", 256 * 1024, 1024, 16 * 1024 * 1024),
        request_deadline_seconds=_float(env, "REQUEST_DEADLINE_SECONDS", 10.0),
        allowed_user_ids=_id_set(env, "ALLOWED_USER_IDS"),
        allowed_channel_ids=_id_set(env, "ALLOWED_CHANNEL_IDS"),
        allowed_team_ids=_id_set(env, "ALLOWED_TEAM_IDS"),
        max_export_records=_int(env, "MAX_EXPORT_RECORDS", 1000, 1, 100_000),
        default_language=_language(env.get("BOT_DEFAULT_LANGUAGE", "").strip() or "en"),
        log_level=_log_level(env.get("LOG_LEVEL", "").strip() or "INFO"),
        log_format="json" if log_format == "json" else "text",
        redis_url=_redis_url(env.get("REDIS_URL", "").strip()),
        redis_timeout=_float(env, "REDIS_TIMEOUT", 0.2),
        redis_retry_seconds=_float(env, "REDIS_RETRY_SECONDS", 5.0),
        web_concurrency=_int(env, "WEB_CONCURRENCY", 1, 1, 64),
        metrics_token=env.get("METRICS_TOKEN", "").strip(),
        metrics_port=_int(env, "METRICS_PORT", 0, 0, 65535),
    )


def _optional_int(env: Mapping[str, str], name: str, minimum: int, maximum: int) -> int | None:
    return _int(env, name, 0, minimum, maximum) if env.get(name, "").strip() else None


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _redis_url(raw: str) -> str:
    """Checked for its scheme only; the message never repeats the value (it may hold a password)."""
    if raw and not raw.lower().startswith(REDIS_SCHEMES):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// (TLS) or unix://")
    return raw


def _portal_id(raw: str) -> str:
    if raw and not raw.isdigit():
        raise ConfigError(f"HUBSPOT_PORTAL_ID must be your HubSpot account's number (Hub ID), got {raw!r}")
    return raw


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _looks_like_dated_version(version: str) -> bool:
    """HubSpot's date-based API versions: `YYYY-MM`, e.g. 2026-09."""
    parts = version.split("-")
    return (
        len(parts) == 2
        and all(part.isdigit() for part in parts)
        and len(parts[0]) == 4
        and len(parts[1]) == 2
        and 1 <= int(parts[1]) <= 12
    )
