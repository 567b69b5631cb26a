"""What every listener shares: turning failures into words a user understands."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.blocks import Message, escape, render_notice
from bot.hubspot.errors import (
    AuthenticationFailed,
    BadRequest,
    ContactNotFound,
    DailyLimitReached,
    HubSpotError,
    MissingScopes,
    RateLimited,
    Unavailable,
)
from bot.messages import Translator
from bot.parsing import InputError

log = logging.getLogger("bot.listeners")

EPHEMERAL = {"response_type": "ephemeral", "replace_original": False}


def ack_now(ack: Callable[..., Any]) -> None:
    """Runs on the request thread before anything slow: Slack only needs an empty 200 within 3 s."""
    ack()


def hubspot_error_text(error: HubSpotError, tr: Translator, identifier: str) -> str:
    if isinstance(error, ContactNotFound):
        return tr("error.not_found", identifier=escape(identifier))
    if isinstance(error, AuthenticationFailed):
        return tr("error.auth")
    if isinstance(error, MissingScopes):
        return tr("error.scope", scopes=", ".join(f"`{escape(s)}`" for s in error.required_scopes))
    if isinstance(error, DailyLimitReached):
        return tr("error.daily_limit")
    if isinstance(error, RateLimited):
        return tr("error.rate_limited")
    if isinstance(error, Unavailable):
        return tr("error.unavailable")
    if isinstance(error, BadRequest):
        return tr("error.bad_request", detail=escape(error.message[:300]))
    return tr("error.unexpected")


def failure_notice(exc: Exception, tr: Translator, identifier: str | None, reference: str) -> tuple[Message, str]:
    """(ephemeral message, outcome label for the audit log) for any exception a listener meets."""
    if isinstance(exc, InputError):
        return {**render_notice(tr(exc.key, **_escaped(exc.values)), tr), **EPHEMERAL}, "bad_input"
    if isinstance(exc, HubSpotError):
        shown_ref = exc.correlation_id or reference
        text = hubspot_error_text(exc, tr, identifier or "")
        log.warning(
            "hubspot error %s status=%s ref=%s category=%s",
            type(exc).__name__,
            exc.status,
            shown_ref,
            exc.category,
        )
        return {**render_notice(text, tr, shown_ref), **EPHEMERAL}, type(exc).__name__
    log.exception("unexpected failure ref=%s", reference)
    return {**render_notice(tr("error.internal"), tr, reference), **EPHEMERAL}, "internal_error"


def _escaped(values: dict[str, Any]) -> dict[str, Any]:
    return {key: escape(value) if isinstance(value, str) else value for key, value in values.items()}
