"""Finding the contact first: a name typed after `/participations`, and the choice among namesakes.

A name goes to HubSpot's contact search (never to the breakdown endpoint). One match is answered exactly as an
email would be; several get a private choice whose buttons carry everything the click needs (`encode_choice`);
choosing posts that contact's page in the channel — or, for a message shortcut's choice, in that message's thread
— and the choice message then says who was chosen, with no button left to click twice.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.domain.buttons import decode_choice
from bot.domain.queries import MAX_CHOICES, Choice, CommandRequest, NameSearch, PageQuery
from bot.hubspot.errors import MissingScopes
from bot.i18n import Translator
from bot.listeners._shared.clicks import ButtonHandler, Click
from bot.listeners._shared.lifecycle import NotDelivered
from bot.listeners._shared.threads import post_in_message_thread
from bot.listeners.command import answer_command, first_answer
from bot.render.blocks import EPHEMERAL, escape
from bot.render.choice import CHOOSE_ACTION_ID, ContactOption, render_choice, render_chosen
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    button: ButtonHandler[Choice] = ButtonHandler(
        kind="choose",
        decode=decode_choice,
        # One choice per choice message: a second click, on any of its buttons, posts nothing more.
        claim_key=lambda click, _choice: (click.channel, click.message_ts, CHOOSE_ACTION_ID),
        already_key="choice.already",
        work=lambda click, choice: deliver_choice(click, choice, runtime),
        describe=lambda choice: (
            choice.identifier,
            choice.state.value if choice.state else None,
            1 if choice.action == "page" else None,
        ),
    )
    button.register(app, CHOOSE_ACTION_ID, runtime)


def answer_name_search(
    request: NameSearch, runtime: Runtime, language: Callable[[], str], response_url: str | None
) -> tuple[str, str | None]:
    """(audit outcome, the contact looked up if there was exactly one)."""
    try:
        result = runtime.hubspot.search_contacts(request.name, limit=MAX_CHOICES)
    except MissingScopes:
        runtime.responder.post(response_url, {"text": Translator(language())("search.scope_missing"), **EPHEMERAL})
        return "search_scope_missing", None
    tr = Translator(language())
    if not result.matches:
        runtime.responder.post(response_url, {"text": tr("search.no_match", name=escape(request.name)), **EPHEMERAL})
        return "no_match", None
    if len(result.matches) == 1 and result.total <= 1:  # the one contact: answer as for its email
        match = result.matches[0]
        chosen = CommandRequest(PageQuery(match.contact_id, request.state, request.limit), request.action)
        who = ContactOption.from_match(match).label
        return answer_command(chosen, runtime, language, response_url, who), match.contact_id
    options = [ContactOption.from_match(match) for match in result.matches]
    shown = len(options[:MAX_CHOICES])
    name = escape(request.name)
    if result.total > shown:
        intro = tr("choice.many", total=tr.number(result.total), name=name, shown=tr.number(shown))
    else:
        intro = tr("choice.several", total=tr.number(result.total), name=name)
    message = render_choice(options, intro, tr, template=_template(request), total=result.total)
    runtime.responder.post(response_url, {**message, **EPHEMERAL})
    return "choice", None


def _template(request: NameSearch) -> Choice:
    """What every button of the choice carries besides its contact."""
    return Choice(identifier="", state=request.state, limit=request.limit, action=request.action)


def deliver_choice(click: Click, choice: Choice, runtime: Runtime) -> None:
    """Post the chosen contact's answer, then turn the choice message into "Chosen: …"."""
    request = CommandRequest(choice.query, choice.action)
    if choice.root is None:  # a name typed in the channel: answer as the command would
        outcome = answer_command(request, runtime, click.language, click.response_url, choice.label or None)
        if outcome == "post_failed":
            raise NotDelivered("post_failed")
    else:  # a message shortcut's choice: into that message's thread
        message, found = first_answer(request, runtime, click.language, choice.label or None)
        if not found:
            runtime.responder.post(click.response_url, {**message, **EPHEMERAL})
        elif click.channel is None:
            raise NotDelivered("no_channel", click.notice("error.post_failed", reason="no_channel"))
        else:
            post_in_message_thread(
                click.client,
                runtime,
                click.channel,
                choice.root,
                message,
                click.response_url,
                click.tr,
                click.reference,
            )
    runtime.responder.post(
        click.response_url, {**render_chosen(choice.label or choice.identifier, click.tr), "replace_original": True}
    )
