"""`/participations`: ack at once on the request thread, then look up and answer from the worker pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.domain.command import parse_command
from bot.domain.queries import CommandRequest, ContactQuery, HelpRequest, NameSearch
from bot.i18n import Translator
from bot.listeners._shared.ack import ack_and_defer
from bot.listeners._shared.lifecycle import handling
from bot.listeners.summary_button import summary_answer
from bot.render.blocks import EPHEMERAL, Message
from bot.render.links import contact_url
from bot.render.notices import render_usage
from bot.render.page import render_empty, render_page
from bot.render.summary import first_page_buttons
from bot.runtime import Runtime

COMMAND = "/participations"


def register(app: App, runtime: Runtime) -> None:
    app.command(COMMAND)(ack_and_defer(runtime, lambda body, _client: handle_command(body, runtime), kind="command"))


def handle_command(body: dict[str, Any], runtime: Runtime) -> None:
    with handling(runtime, body, kind="command", user_id=body.get("user_id"), count=runtime.metrics.command) as request:
        if not request.admit(body.get("channel_id"), body.get("team_id")):
            return
        parsed = parse_command(body.get("text"))
        if isinstance(parsed, HelpRequest):
            request.outcome = "help"
            request.answer({**render_usage(request.tr()), **EPHEMERAL})
            return
        request.page = 1 if parsed.action == "page" else None
        if isinstance(parsed, NameSearch):
            from bot.listeners.choose_contact import answer_name_search  # builds on this module: no import cycle

            request.state = parsed.state.value if parsed.state else None
            request.outcome, request.identifier = answer_name_search(
                parsed, runtime, request.language, request.response_url
            )
            request.page = request.page if request.identifier else None  # a choice or a refusal shows no page
            return
        request.identifier = parsed.query.identifier
        request.state = parsed.query.state.value if parsed.query.state else None
        request.outcome = answer_command(parsed, runtime, request.language, request.response_url)


def answer_command(
    request: CommandRequest,
    runtime: Runtime,
    language: Callable[[], str],
    response_url: str | None,
    who: str | None = None,
) -> str:
    """`language` is still being looked up: it is asked for only once HubSpot has answered."""
    message, found = first_answer(request, runtime, language, who)
    if not found:
        runtime.responder.post(response_url, {**message, **EPHEMERAL})
        return "empty"
    delivered = runtime.responder.post(
        response_url, {**message, "response_type": "in_channel", "replace_original": False}
    )
    return "ok" if delivered else "post_failed"


def first_answer(
    request: CommandRequest, runtime: Runtime, language: Callable[[], str], who: str | None = None
) -> tuple[Message, bool]:
    """(the first page — or the summary — with its buttons, True), or (the "no participations" notice, False).

    The same answer whichever way the contact was found: typed, chosen among namesakes, or taken from a message
    (`who` names it in the notice when it was found by name).
    """
    query = request.query
    if request.action == "summary":
        return summary_answer(ContactQuery(query.identifier, query.state), runtime, language, who)
    page = runtime.hubspot.breakdown(query.identifier, state=query.state, limit=query.limit)
    tr = Translator(language())
    if not page.results:
        return render_empty(query, tr, who), False
    contact = page.contact
    message = render_page(
        page,
        query,
        tr,
        contact_url=contact_url(runtime.settings, contact.contact_id if contact else None),
        extra_buttons=first_page_buttons(query, tr),
    )
    return message, True
