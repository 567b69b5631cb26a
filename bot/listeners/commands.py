"""`/participations`: ack at once on the request thread, then look up and answer from the worker pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.blocks import Message, render_empty, render_page, render_usage
from bot.listeners.common import EPHEMERAL, ack_then, failure_notice, shown_reference
from bot.listeners.summary import summary_answer
from bot.messages import Translator
from bot.parsing import CommandRequest, ContactQuery, HelpRequest, NameSearch, parse_command
from bot.services import Services, new_reference
from bot.views_summary import first_page_buttons

COMMAND = "/participations"


def register(app: App, services: Services) -> None:
    app.command(COMMAND)(ack_then(services, lambda body, _client: handle_command(body, services), kind="command"))


def handle_command(body: dict[str, Any], services: Services) -> None:
    """Every path ends in a message the user sees; nothing escapes to Bolt."""
    started = services.clock()
    reference = new_reference()
    response_url = body.get("response_url")
    identifier: str | None = None
    state: str | None = None
    page: int | None = None
    outcome = "internal_error"
    user_id = body.get("user_id")
    language: Callable[[], str] = lambda: services.locales.known(user_id)  # noqa: E731  # until a lookup starts
    try:
        if not services.access.allows(user_id, body.get("channel_id"), body.get("team_id")):  # before any call out
            outcome = "denied"
            services.responder.post(response_url, {"text": Translator(language())("error.denied"), **EPHEMERAL})
            return
        language = services.locales.start(user_id)  # Slack answers users.info while HubSpot is asked
        request = parse_command(body.get("text"))
        if isinstance(request, HelpRequest):
            outcome = "help"
            services.responder.post(response_url, {**render_usage(Translator(language())), **EPHEMERAL})
            return
        page = 1 if request.action == "page" else None
        if isinstance(request, NameSearch):
            from bot.listeners.lookup import answer_name_search  # lookup builds on this module: no import cycle

            state = request.state.value if request.state else None
            outcome, identifier = answer_name_search(request, services, language, response_url)
            page = page if identifier else None  # a choice or a refusal shows no page
            return
        identifier = request.query.identifier
        state = request.query.state.value if request.query.state else None
        outcome = answer_command(request, services, language, response_url)
    except Exception as exc:
        message, outcome = failure_notice(exc, Translator(language()), identifier, reference)
        reference = shown_reference(exc, reference)
        services.responder.post(response_url, message)
    finally:
        services.metrics.command(outcome)
        services.audit(
            "command",
            body=body,
            identifier=identifier,
            state=state,
            page=page,
            outcome=outcome,
            started=started,
            reference=reference,
        )


def answer_command(
    request: CommandRequest,
    services: Services,
    language: Callable[[], str],
    response_url: str | None,
    who: str | None = None,
) -> str:
    """`language` is still being looked up: it is asked for only once HubSpot has answered."""
    message, found = first_answer(request, services, language, who)
    if not found:
        services.responder.post(response_url, {**message, **EPHEMERAL})
        return "empty"
    delivered = services.responder.post(
        response_url, {**message, "response_type": "in_channel", "replace_original": False}
    )
    return "ok" if delivered else "post_failed"


def first_answer(
    request: CommandRequest, services: Services, language: Callable[[], str], who: str | None = None
) -> tuple[Message, bool]:
    """(the first page — or the summary — with its buttons, True), or (the "no participations" notice, False).

    The same answer whichever way the contact was found: typed, chosen among namesakes, or taken from a message
    (`who` names it in the notice when it was found by name).
    """
    query = request.query
    if request.action == "summary":
        return summary_answer(ContactQuery(query.identifier, query.state), services, language, who)
    page = services.hubspot.breakdown(query.identifier, state=query.state, limit=query.limit)
    tr = Translator(language())
    if not page.results:
        return render_empty(query, tr, who), False
    contact = page.contact
    message = render_page(
        page,
        query,
        tr,
        contact_url=services.contact_url(contact.contact_id if contact else None),
        extra_buttons=first_page_buttons(query, tr),
    )
    return message, True
