"""What the Summary and Export CSV buttons share: check the clicker, take the click once, read every record
(100 per request, up to `MAX_EXPORT_RECORDS`, through the client's usual retries and pacing), hand the records
to the button's own work, retire the button, and audit the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.blocks import mark_action_done, render_empty
from bot.listeners.actions import thread_root
from bot.listeners.common import EPHEMERAL, failure_notice
from bot.messages import Translator
from bot.parsing import ContactQuery, PageQuery, decode_contact_query
from bot.services import Services, new_reference
from bot.summary import Gathered, gather


@dataclass(frozen=True)
class Click:
    """One button click, with everything the work needs to answer in the right place and language."""

    body: dict[str, Any]
    query: ContactQuery
    tr: Translator
    channel: str | None
    root: str | None
    response_url: str | None

    @property
    def in_thread(self) -> bool:
        """False for ephemeral messages (never thread under them) or when Slack sent no location."""
        ephemeral = bool((self.body.get("container") or {}).get("is_ephemeral"))
        return not ephemeral and bool(self.channel) and bool(self.root)


Work = Callable[[Click, Gathered], str]


def fetch_all(services: Services, query: ContactQuery) -> Gathered:
    cap = services.settings.max_export_records
    return gather(services.hubspot.iter_participations(query.identifier, state=query.state, cap=cap), cap)


def handle_contact_click(
    body: dict[str, Any],
    services: Services,
    *,
    kind: str,
    action_id: str,
    already_key: str,
    work: Work,
    needs_thread: bool = False,
    not_here_key: str = "error.bad_button",
) -> None:
    """Every path ends in something the clicker sees; a failed or refused click can be retried."""
    started = services.clock()
    reference = new_reference()
    response_url = body.get("response_url")
    user = body.get("user") or {}
    query: ContactQuery | None = None
    outcome = "internal_error"
    tr = Translator(services.settings.default_language)
    claim: tuple[Any, ...] | None = None
    try:
        tr = Translator(services.locales.language_for(user.get("id")))
        channel, message_ts, root = thread_root(body)
        team = user.get("team_id") or (body.get("team") or {}).get("id")
        if not services.access.allows(user.get("id"), channel, team):
            outcome = "denied"
            services.responder.post(response_url, {"text": tr("error.denied"), **EPHEMERAL})
            return
        actions = body.get("actions") or [{}]
        query = decode_contact_query(actions[0].get("value"))
        click = Click(body=body, query=query, tr=tr, channel=channel, root=root, response_url=response_url)
        if needs_thread and not click.in_thread:
            outcome = "not_here"
            services.responder.post(response_url, {"text": tr(not_here_key), **EPHEMERAL})
            return
        claim = (channel, message_ts, action_id)
        if not services.clicks.claim(claim):
            outcome = "duplicate_click"
            services.responder.post(response_url, {"text": tr(already_key), **EPHEMERAL})
            claim = None  # the first click owns it
            return
        gathered = fetch_all(services, query)
        if not gathered.records:
            outcome = "empty"
            page_query = PageQuery(identifier=query.identifier, state=query.state)
            services.responder.post(response_url, {**render_empty(page_query, tr), **EPHEMERAL})
        else:
            outcome = work(click, gathered)
        if outcome != "ok":
            services.clicks.release(claim)
    except Exception as exc:
        if claim is not None:
            services.clicks.release(claim)
        message, outcome = failure_notice(exc, tr, query.identifier if query else None, reference)
        services.responder.post(response_url, message)
    finally:
        services.audit(
            kind,
            body=body,
            identifier=query.identifier if query else None,
            state=query.state.value if query and query.state else None,
            page=None,
            outcome=outcome,
            started=started,
            reference=reference,
        )


def retire(click: Click, services: Services, action_id: str, note: str, suffix: str) -> None:
    """Keep the clicked message, drop only this button (Next and the others stay), say where the result went."""
    message = click.body.get("message") or {}
    blocks = message.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return
    services.responder.post(
        click.response_url,
        {
            "replace_original": True,
            "text": message.get("text") or note,
            "blocks": mark_action_done(blocks, action_id, note, suffix=suffix),
        },
    )
