"""Button clicks. Next: post the following page in the thread of the first result, then retire the button."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bot.blocks import NEXT_ACTION_ID, Message, escape, mark_page_posted, render_empty, render_notice, render_page
from bot.listeners.common import EPHEMERAL, ack_now, failure_notice, shown_reference
from bot.messages import Translator
from bot.parsing import PageQuery, decode_query
from bot.services import Services, new_reference

log = logging.getLogger("bot.listeners")

# chat.postMessage errors after which the click's response_url can still post into the thread (it bypasses
# channel membership, and has its own rate limit once Slack's 429 outlasted our retries).
FALLBACK_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "missing_scope", "not_allowed_token_type", "ratelimited"}
)


def register(app: App, services: Services) -> None:
    def run_next(body: dict[str, Any], client: WebClient) -> None:
        handle_next(body, client, services)

    app.action(NEXT_ACTION_ID)(ack=ack_now, lazy=[run_next])


def thread_root(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, clicked message ts, thread root ts): a reply's root is its parent, else the message itself."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    message_ts = container.get("message_ts") or message.get("ts")
    root = container.get("thread_ts") or message.get("thread_ts") or message_ts
    return channel, message_ts, root


def handle_next(body: dict[str, Any], client: WebClient, services: Services) -> None:
    started = services.clock()
    reference = new_reference()
    response_url = body.get("response_url")
    user = body.get("user") or {}
    query: PageQuery | None = None
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
        query = decode_query(actions[0].get("value"))
        claim = (channel, message_ts, query.after)
        if not services.clicks.claim(claim):
            outcome = "duplicate_click"
            services.responder.post(response_url, {"text": tr("error.already_posted"), **EPHEMERAL})
            claim = None  # the first click owns it
            return
        outcome = deliver_next_page(body, client, services, tr, query, channel, root, reference)
        if outcome != "ok":
            services.clicks.release(claim)
    except Exception as exc:
        if claim is not None:
            services.clicks.release(claim)
        message, outcome = failure_notice(exc, tr, query.identifier if query else None, reference)
        reference = shown_reference(exc, reference)
        services.responder.post(response_url, message)
    finally:
        services.audit(
            "next",
            body=body,
            identifier=query.identifier if query else None,
            state=query.state.value if query and query.state else None,
            page=query.page if query else None,
            outcome=outcome,
            started=started,
            reference=reference,
        )


def deliver_next_page(
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    tr: Translator,
    query: PageQuery,
    channel: str | None,
    root: str | None,
    reference: str,
) -> str:
    page = services.hubspot.breakdown(query.identifier, state=query.state, limit=query.limit, after=query.after)
    response_url = body.get("response_url")
    if not page.results:
        services.responder.post(response_url, {**render_empty(query, tr), **EPHEMERAL})
        return "empty"
    contact = page.contact
    message = render_page(page, query, tr, contact_url=services.contact_url(contact.contact_id if contact else None))
    ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
    if ephemeral or not channel or not root:
        # Never thread under an ephemeral message: answer the clicker privately instead.
        return "ok" if services.responder.post(response_url, {**message, **EPHEMERAL}) else "post_failed"
    outcome = post_in_thread(client, services, message, channel, root, response_url, tr, reference)
    if outcome == "ok":
        retire_button(body, services, tr, query.page)
    return outcome


def post_in_thread(
    client: WebClient,
    services: Services,
    message: Message,
    channel: str,
    root: str,
    response_url: str | None,
    tr: Translator,
    reference: str,
) -> str:
    try:
        client.chat_postMessage(
            channel=channel, thread_ts=root, text=message["text"], blocks=message["blocks"], unfurl_links=False
        )
        return "ok"
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        log.warning("chat.postMessage failed (%s) ref=%s", error, reference)
        if error in FALLBACK_ERRORS:
            delivered = services.responder.post(
                response_url,
                {**message, "response_type": "in_channel", "thread_ts": root, "replace_original": False},
            )
            if not delivered:
                notice = render_notice(tr("error.post_failed", reason=escape(error)), tr, reference)
                services.responder.post(response_url, {**notice, **EPHEMERAL})
            return "ok" if delivered else "post_failed"
        # An archived channel takes no new messages by any route: say so instead of suggesting an invite.
        key = "error.archived" if error == "is_archived" else "error.slack_failed"
        services.responder.post(
            response_url, {**render_notice(tr(key, reason=escape(error)), tr, reference), **EPHEMERAL}
        )
        return f"slack_{error}"


def retire_button(body: dict[str, Any], services: Services, tr: Translator, posted_page: int) -> None:
    """Keep the clicked message's content, drop its Next button, say where the page went."""
    message = body.get("message") or {}
    blocks = message.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return
    services.responder.post(
        body.get("response_url"),
        {
            "replace_original": True,
            "text": message.get("text") or tr("page.posted_in_thread", page=posted_page),
            "blocks": mark_page_posted(blocks, NEXT_ACTION_ID, posted_page, tr),
        },
    )
