"""`participations-bot check [--socket]`: is this configuration ready to run, and if not, what to do.

One line per part, ✓ or ✗, each ✗ naming its fix (⚠ for an optional part, such as name search, that does not
work: said, but not a failure). Values of secrets are never printed. Slack is asked once
(`auth.test`); HubSpot is asked once, on the very endpoint the bot uses, for a contact that cannot exist: a 404
or an empty page proves both the token and the scope, while 401 and 403 tell the two failures apart.
Over 300 lines: each check sits beside the fix text it prints, which is what a reader of a ✗ looks for.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from bot.config import ConfigError, Mode, Settings, load_settings
from bot.hubspot.client import HubSpotClient, RetryPolicy
from bot.hubspot.errors import (
    REQUIRED_SCOPE,
    SEARCH_SCOPE,
    AuthenticationFailed,
    ContactNotFound,
    DailyLimitReached,
    HubSpotError,
    MissingScopes,
    RateLimited,
    Unavailable,
)
from bot.scopes import REQUIRED_BOT_SCOPES

# An address under the reserved `.invalid` domain: no HubSpot contact can have it.
PROBE_IDENTIFIER = "participations-bot-check@example.invalid"

HUBSPOT_SETUP = (
    "create a new token in HubSpot (Settings → Integrations → Private apps, or Service keys) "
    f"with the scope {REQUIRED_SCOPE} and put it in HUBSPOT_ACCESS_TOKEN"
)
SLACK_BOT_SETUP = (
    "copy the Bot User OAuth Token (xoxb-…) from api.slack.com/apps → your app → OAuth & Permissions "
    "into SLACK_BOT_TOKEN (reinstall the app if it is not installed)"
)
VARIABLE_HELP = {
    "SLACK_BOT_TOKEN": SLACK_BOT_SETUP,
    "SLACK_SIGNING_SECRET": (
        "copy the Signing Secret from api.slack.com/apps → your app → Basic Information → App Credentials"
    ),
    "SLACK_APP_TOKEN": (
        "create an app-level token with connections:write under Basic Information → App-Level Tokens (xapp-…)"
    ),
    "HUBSPOT_ACCESS_TOKEN": HUBSPOT_SETUP,
}
MODE_NAMES: dict[Mode, str] = {"http": "HTTP mode", "socket": "Socket Mode"}


@dataclass(frozen=True)
class CheckLine:
    ok: bool
    part: str
    detail: str
    warning: bool = False  # something optional does not work: said (⚠), but the check still passes

    def render(self) -> str:
        mark = "✗" if not self.ok else "⚠" if self.warning else "✓"
        return f"{mark} {self.part}: {self.detail}"


def check_variables(settings: Settings, mode: Mode) -> list[CheckLine]:
    """Presence (and shape) of each variable the mode needs; never their values."""
    names = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET" if mode == "http" else "SLACK_APP_TOKEN", "HUBSPOT_ACCESS_TOKEN"]
    missing = set(settings.missing_for(mode))
    lines: list[CheckLine] = []
    for name in names:
        if name in missing:
            lines.append(CheckLine(False, name, f"not set: {VARIABLE_HELP[name]}"))
        elif name == "SLACK_BOT_TOKEN" and not settings.slack_bot_token.startswith("xoxb-"):
            lines.append(CheckLine(False, name, f"set, but it is not a bot token (xoxb-…): {SLACK_BOT_SETUP}"))
        elif name == "SLACK_APP_TOKEN" and not settings.slack_app_token.startswith("xapp-"):
            lines.append(
                CheckLine(False, name, f"set, but it is not an app-level token (xapp-…): {VARIABLE_HELP[name]}")
            )
        elif name == "SLACK_SIGNING_SECRET":
            lines.append(
                CheckLine(
                    True,
                    name,
                    "set (Slack cannot confirm it from here; a wrong one makes every command fail with "
                    "dispatch_failed and the bot log 401s)",
                )
            )
        elif name == "SLACK_APP_TOKEN":
            several = "several share state through REDIS_URL" if settings.redis_url else "more than one needs REDIS_URL"
            lines.append(CheckLine(True, name, f"set (xapp-…); one `participations-bot socket` process, or {several}"))
        else:
            lines.append(CheckLine(True, name, "set"))
    if mode == "http" or settings.metrics_port:
        lines.append(metrics_line(settings))
    return lines


def metrics_line(settings: Settings) -> CheckLine:
    """Whether `/metrics` is guarded: never a failure (a private network needs no token), always said."""
    if settings.metrics_token:
        return CheckLine(True, "METRICS_TOKEN", "set: GET /metrics answers only `Authorization: Bearer <token>`")
    return CheckLine(
        True,
        "METRICS_TOKEN",
        "not set: GET /metrics is open to anyone who can reach the port; set it when the port is public (Heroku)",
    )


def _slack_error_fix(error: str) -> str:
    if error in {"invalid_auth", "not_authed"}:
        return f"Slack rejected SLACK_BOT_TOKEN ({error}): {SLACK_BOT_SETUP}"
    if error in {"token_revoked", "token_expired", "account_inactive", "app_uninstalled"}:
        return f"the token no longer works ({error}): reinstall the app to the workspace and update SLACK_BOT_TOKEN"
    if error == "ratelimited":
        return "Slack rate limited auth.test: wait a minute and run participations-bot check again"
    return f"Slack answered {error}: check SLACK_BOT_TOKEN and SLACK_API_URL"


def check_slack(settings: Settings, *, timeout: int = 10) -> list[CheckLine]:
    """`auth.test` with the bot token: who the bot is, in which workspace, and which scopes it holds."""
    if not settings.slack_bot_token:
        return [CheckLine(False, "Slack auth.test", "skipped: SLACK_BOT_TOKEN is not set")]
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import WebClient

    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=timeout)
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        return [CheckLine(False, "Slack auth.test", _slack_error_fix(error))]
    except Exception as exc:  # connection refused, DNS, timeout: all mean "cannot reach Slack"
        return [
            CheckLine(
                False,
                "Slack auth.test",
                f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__}): "
                "check the network, a proxy, or SLACK_API_URL",
            )
        ]
    bot = response.get("user") or "?"
    team = response.get("team") or "?"
    lines = [CheckLine(True, "Slack auth.test", f"connected as @{bot} in workspace {team} ({response.get('team_id')})")]
    lines += _scope_lines(response.headers)
    return lines


def check_socket_token(settings: Settings, *, timeout: int = 10) -> list[CheckLine]:
    """Socket Mode: ask Slack for a connection URL with the app-level token (nothing connects to it)."""
    part = "Slack Socket Mode"
    if not settings.slack_app_token.startswith("xapp-"):
        return [CheckLine(False, part, "skipped: SLACK_APP_TOKEN is not an app-level token (xapp-…)")]
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import WebClient

    client = WebClient(base_url=settings.slack_api_url, timeout=timeout)
    try:
        client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        return [
            CheckLine(
                False,
                part,
                f"Slack refused SLACK_APP_TOKEN ({error}): {VARIABLE_HELP['SLACK_APP_TOKEN']}, and turn on Socket Mode "
                "under Settings → Socket Mode",
            )
        ]
    except Exception as exc:
        return [CheckLine(False, part, f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__})")]
    return [CheckLine(True, part, "Slack accepts SLACK_APP_TOKEN and would open a connection")]


def _scope_lines(headers: Mapping[str, Any] | None) -> list[CheckLine]:
    """Slack lists a token's scopes in the `X-OAuth-Scopes` header; compare with what the code needs."""
    raw: Any = None
    for key, value in (headers or {}).items():
        if str(key).lower() == "x-oauth-scopes":
            raw = value
    if isinstance(raw, list):
        raw = ",".join(str(item) for item in raw)
    if not isinstance(raw, str):
        return []
    granted = {scope.strip() for scope in raw.split(",") if scope.strip()}
    missing = sorted(REQUIRED_BOT_SCOPES - granted)
    if missing:
        return [
            CheckLine(
                False,
                "Slack scopes",
                f"missing {', '.join(missing)}: add them under OAuth & Permissions (or update the app from "
                "manifest.yml) and reinstall the app",
            )
        ]
    return [CheckLine(True, "Slack scopes", ", ".join(sorted(REQUIRED_BOT_SCOPES)) + " granted")]


def check_hubspot(settings: Settings, **client_overrides: Any) -> list[CheckLine]:
    """One request to the breakdown endpoint (no retries): token and scope in a single probe."""
    part = "HubSpot"
    if not settings.hubspot_access_token:
        return [CheckLine(False, part, "skipped: HUBSPOT_ACCESS_TOKEN is not set")]
    options: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=1, budget_seconds=settings.hubspot_retry_budget_seconds),
        **client_overrides,
    }
    client = HubSpotClient.from_settings(settings, **options)
    where = f"{settings.hubspot_api_base} ({settings.hubspot_api_version})"
    ok = f"token valid and {REQUIRED_SCOPE} granted"
    try:
        page = client.breakdown(PROBE_IDENTIFIER, limit=1)
    except ContactNotFound:
        return [
            CheckLine(True, part, f"{ok} (the breakdown endpoint answered 404 OBJECT_NOT_FOUND for a dummy contact)")
        ]
    except AuthenticationFailed as exc:
        return [
            CheckLine(
                False,
                part,
                f"HubSpot rejected HUBSPOT_ACCESS_TOKEN (401{_category(exc)}: invalid or expired): {HUBSPOT_SETUP}"
                f"{_reference(exc)}",
            )
        ]
    except MissingScopes as exc:
        scopes = ", ".join(exc.required_scopes)
        return [
            CheckLine(
                False,
                part,
                f"the token is valid but lacks {scopes} (403{_category(exc)}): add that scope to the private app or "
                "service key in HubSpot (Settings → Integrations), then update HUBSPOT_ACCESS_TOKEN if HubSpot "
                f"issued a new token{_reference(exc)}",
            )
        ]
    except DailyLimitReached as exc:
        return [CheckLine(False, part, f"the account's daily API quota is used up (429){_reference(exc)}")]
    except RateLimited as exc:
        return [CheckLine(False, part, f"rate limited (429): run the check again in a minute{_reference(exc)}")]
    except Unavailable as exc:
        return [
            CheckLine(
                False,
                part,
                f"could not reach HubSpot at {where}: {exc.message}; check the network and HUBSPOT_API_BASE",
            )
        ]
    except HubSpotError as exc:
        status = f"HTTP {exc.status}" if exc.status else "an unreadable answer"
        return [
            CheckLine(
                False,
                part,
                f"HubSpot answered {status} at {where}: check HUBSPOT_API_BASE and HUBSPOT_API_VERSION"
                f"{_reference(exc)}",
            )
        ]
    finally:
        client.close()
    return [CheckLine(True, part, f"{ok} (the breakdown endpoint answered 200 with {page.total} record(s))")]


NAME_SEARCH = "HubSpot name search"
SEARCH_PROBE = "participations-bot-check"


def check_name_search(settings: Settings, **client_overrides: Any) -> list[CheckLine]:
    """One contact search (no retries): does `/participations <name>` work? Its scope is optional, so a missing
    one is a warning that says what still works, never a failure."""
    options: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=1, budget_seconds=settings.hubspot_retry_budget_seconds),
        **client_overrides,
    }
    client = HubSpotClient.from_settings(settings, **options)
    try:
        client.search_contacts(SEARCH_PROBE, limit=1)
    except MissingScopes as exc:
        return [
            CheckLine(
                True,
                NAME_SEARCH,
                f"not available: the token lacks {SEARCH_SCOPE} (optional; 403{_category(exc)}). Lookups by email "
                "or contact id work; to find contacts by name too, add that scope to the private app or service key "
                "in HubSpot (Settings → Integrations), then update HUBSPOT_ACCESS_TOKEN if HubSpot issued a new "
                f"token{_reference(exc)}",
                warning=True,
            )
        ]
    except HubSpotError as exc:
        status = f"HTTP {exc.status}" if exc.status else type(exc).__name__
        return [
            CheckLine(
                True,
                NAME_SEARCH,
                f"could not be confirmed (HubSpot answered {status}); lookups by email or id are not affected"
                f"{_reference(exc)}",
                warning=True,
            )
        ]
    finally:
        client.close()
    return [CheckLine(True, NAME_SEARCH, f"{SEARCH_SCOPE} granted: /participations <name> works")]


def check_redis(settings: Settings, *, timeout: float = 3.0) -> list[CheckLine]:
    """With REDIS_URL: PING and the server's version, or why not and what to do. Never the password."""
    if not settings.redis_url:
        return []
    import redis

    from bot.logging_setup import redact_url
    from bot.state.redis import connect, describe_failure

    part = "Redis"
    where = redact_url(settings.redis_url)
    client = connect(settings.redis_url, timeout=timeout)
    try:
        client.ping()
        info = client.info("server")
        version = info.get("redis_version", "?") if isinstance(info, dict) else "?"
    except redis.AuthenticationError as exc:
        return [
            CheckLine(
                False,
                part,
                f"{where} refused the credentials ({describe_failure(exc, settings.redis_url)}): put the password "
                "your Redis provider shows into REDIS_URL (redis://:password@host:port)",
            )
        ]
    except (redis.RedisError, OSError) as exc:
        return [
            CheckLine(
                False,
                part,
                f"could not reach {where} ({describe_failure(exc, settings.redis_url)}): check REDIS_URL (TLS hosts "
                "need rediss://) and that Redis runs; without Redis the bot still answers, but each process keeps "
                "its own state",
            )
        ]
    finally:
        client.close()
    return [CheckLine(True, part, f"version {version} answers at {where}: state is shared between processes")]


def _category(error: HubSpotError) -> str:
    return f" {error.category}" if error.category else ""


def _reference(error: HubSpotError) -> str:
    return f" (HubSpot reference {error.correlation_id})" if error.correlation_id else ""


def run_checks(environ: Mapping[str, str] | None, mode: Mode) -> list[CheckLine]:
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        return [CheckLine(False, "Configuration", f"{exc}")]
    lines = [CheckLine(True, "Configuration", f"read (checking {MODE_NAMES[mode]})")]
    lines += check_variables(settings, mode)
    lines += check_slack(settings)
    if mode == "socket":
        lines += check_socket_token(settings)
    hubspot = check_hubspot(settings)
    lines += hubspot
    if all(line.ok for line in hubspot):  # the token works: is the optional search scope there too?
        lines += check_name_search(settings)
    lines += check_redis(settings)
    return lines


def check_main(mode: Mode, environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Print every line, then a verdict; exit 0 only when everything the mode needs is fine."""
    out = out or sys.stdout
    lines = run_checks(environ, mode)
    for line in lines:
        out.write(line.render() + "\n")
    failures = sum(1 for line in lines if not line.ok)
    if failures:
        out.write(
            f"{failures} problem(s) for {MODE_NAMES[mode]}: fix the ✗ lines, then run `participations-bot check"
            f"{' --socket' if mode == 'socket' else ''}` again.\n"
        )
    elif any(line.warning for line in lines):
        out.write(f"Ready for {MODE_NAMES[mode]} (an optional part is missing: see the ⚠ line).\n")
    else:
        out.write(f"Ready for {MODE_NAMES[mode]}.\n")
    out.flush()
    return 1 if failures else 0
