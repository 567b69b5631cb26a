"""What every listener shares: turning failures into words a user understands."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.web import WebClient

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
from bot.services import Services

log = logging.getLogger("bot.listeners")

EPHEMERAL = {"response_type": "ephemeral", "replace_original": False}


def ack_then(
    services: Services, work: Callable[[dict[str, Any], WebClient], None], *, kind: str
) -> Callable[..., None]:
    """A listener that acks on the request thread, then hands `work` to the background pool.

    With `process_before_response=True` Bolt runs it synchronously and answers Slack as soon as it returns, so
    the ack never waits for a busy worker. (Bolt's own lazy listeners do the same but deep-copy and re-parse each
    request first, which cost more CPU per ack than the rest of the request path.) `kind` (command, click) labels
    the ack and lookup timings; a request counts as in flight from its ack until `work` returns.
    """
    metrics = services.metrics

    def answer(body: dict[str, Any], client: WebClient, arrival: float) -> None:
        try:
            work(body, client)
        finally:
            metrics.lookup_done(kind, arrival)

    def listener(ack: Callable[..., Any], body: dict[str, Any], client: WebClient) -> None:
        ack()
        arrival = metrics.acked(kind)
        try:
            services.background.submit(answer, body, client, arrival)
        except RuntimeError:  # the pool is shutting down: nothing can answer any more
            metrics.lookup_dropped()
            log.error("dropped a request during shutdown")

    return listener


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


def shown_reference(exc: Exception, reference: str) -> str:
    """The reference the user sees for `exc`: HubSpot's correlationId when it gave one, else ours.

    The audit line logs this same value, so an admin can search the logs for what the user quotes.
    """
    if isinstance(exc, HubSpotError) and exc.correlation_id:
        return exc.correlation_id
    return reference


def input_error_text(exc: InputError, tr: Translator) -> str:
    """Catalogue text for bad input; some templates end with the shared `{hint}`, which parsing leaves to us."""
    return tr(exc.key, **{"hint": tr("command.hint"), **_escaped(exc.values)})


def failure_notice(exc: Exception, tr: Translator, identifier: str | None, reference: str) -> tuple[Message, str]:
    """(ephemeral message, outcome label for the audit log) for any exception a listener meets."""
    if isinstance(exc, InputError):
        try:
            text = input_error_text(exc, tr)
        except (KeyError, IndexError, ValueError):  # a template/values mismatch must not silence the answer
            log.exception("could not format input error %s ref=%s", exc.key, reference)
            return {**render_notice(tr("error.internal"), tr, reference), **EPHEMERAL}, "internal_error"
        return {**render_notice(text, tr), **EPHEMERAL}, "bad_input"
    if isinstance(exc, HubSpotError):
        shown_ref = shown_reference(exc, reference)
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


def report_failure(
    services: Services, response_url: str | None, exc: Exception, tr: Translator, identifier: str | None, reference: str
) -> tuple[str, str]:
    """Tell the user what went wrong; (audit outcome, the reference they were shown)."""
    message, outcome = failure_notice(exc, tr, identifier, reference)
    services.responder.post(response_url, message)
    return outcome, shown_reference(exc, reference)


def _escaped(values: dict[str, Any]) -> dict[str, Any]:
    return {key: escape(value) if isinstance(value, str) else value for key, value in values.items()}
