"""One request's life, the same for the command, the message shortcut and every button.

`handling(...)` opens it (reference, start time, the language known so far); `admit` applies the allow-list before
anything is asked of Slack or HubSpot, then starts the language lookup; the work sets `outcome` (and what the audit
line names) or raises `NotDelivered` with the notice to show; any other failure becomes a notice in the user's
language. On the way out a click claim the request holds is released when it failed, the outcome is counted, and
one audit line is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from bot.audit import new_reference
from bot.domain.queries import InputError
from bot.hubspot.errors import HubSpotError
from bot.i18n import Translator
from bot.render.blocks import EPHEMERAL, Message
from bot.render.notices import hubspot_error_text, input_error_text, render_notice
from bot.runtime import Runtime

log = logging.getLogger("bot.listeners")


class NotDelivered(Exception):
    """The work could not deliver; `notice` (if any) tells the user why, `outcome` goes to the audit log."""

    def __init__(self, outcome: str, notice: Message | None = None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.notice = notice


@dataclass
class Request:
    """What one request has found out so far; the audit line is written from it."""

    runtime: Runtime
    body: dict[str, Any]
    user_id: str | None
    started: float
    reference: str = field(default_factory=new_reference)
    outcome: str = "internal_error"
    identifier: str | None = None
    state: str | None = None
    page: int | None = None
    claim: str | None = None  # a click claim this request holds: released if it fails
    language: Callable[[], str] = field(init=False)

    def __post_init__(self) -> None:
        user_id = self.user_id
        self.language = lambda: self.runtime.locales.known(user_id)  # until a lookup starts

    @property
    def response_url(self) -> str | None:
        return cast("str | None", self.body.get("response_url"))

    def tr(self) -> Translator:
        return Translator(self.language())

    def answer(self, message: Message) -> bool:
        return self.runtime.responder.post(self.response_url, message)

    def admit(self, channel_id: str | None, team_id: str | None) -> bool:
        """The allow-list, before anything reaches Slack or HubSpot; once admitted, the language lookup starts
        (Slack answers users.info while HubSpot is asked)."""
        if not self.runtime.access.allows(self.user_id, channel_id, team_id):
            self.outcome = "denied"
            self.answer({"text": self.tr()("error.denied"), **EPHEMERAL})
            return False
        self.language = self.runtime.locales.start(self.user_id)
        return True


@contextmanager
def handling(
    runtime: Runtime, body: dict[str, Any], *, kind: str, user_id: str | None, count: Callable[[str], None]
) -> Iterator[Request]:
    """Every path ends in something the user sees; nothing escapes to Bolt. `count(outcome)` feeds the metrics."""
    request = Request(runtime, body, user_id, started=runtime.clock())
    try:
        yield request
    except NotDelivered as failed:
        _release(request)
        request.outcome = failed.outcome
        if failed.notice is not None:
            request.answer(failed.notice)
    except Exception as exc:
        _release(request)
        message, request.outcome = failure_notice(exc, request.tr(), request.identifier, request.reference)
        request.reference = shown_reference(exc, request.reference)
        request.answer(message)
    finally:
        count(request.outcome)
        runtime.audit.record(
            kind,
            body=body,
            identifier=request.identifier,
            state=request.state,
            page=request.page,
            outcome=request.outcome,
            started=request.started,
            reference=request.reference,
        )


def _release(request: Request) -> None:
    """Free the click before saying anything: a user who reads "try again" and clicks again is never told the
    click is already being handled."""
    if request.claim is not None:
        request.runtime.state.clicks.release(request.claim)
        request.claim = None


def shown_reference(exc: Exception, reference: str) -> str:
    """The reference the user sees for `exc`: HubSpot's correlationId when it gave one, else ours.

    The audit line logs this same value, so an admin can search the logs for what the user quotes.
    """
    if isinstance(exc, HubSpotError) and exc.correlation_id:
        return exc.correlation_id
    return reference


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
