"""Next page: post the following page in the thread of the first result, then retire the button."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks import NEXT_ACTION_ID, render_empty, render_page
from bot.listeners.clicks import Button, Click, ClickFailed, answer_privately, post_in_thread, retire
from bot.listeners.common import EPHEMERAL, ack_then
from bot.parsing import PageQuery, decode_query
from bot.services import Services


def register(app: App, services: Services) -> None:
    button: Button[PageQuery] = Button(
        kind="next",
        decode=decode_query,
        # One page per message and cursor: a second click (or a stale copy of the button) posts nothing more.
        claim_key=lambda click, query: (click.channel, click.message_ts, "next", query.after),
        already_key="error.already_posted",
        work=lambda click, query: deliver_next_page(click, query, services),
        describe=lambda query: (query.identifier, query.state.value if query.state else None, query.page),
    )

    app.action(NEXT_ACTION_ID)(
        ack_then(services, lambda body, client: button.run(body, client, services), kind="click")
    )


def deliver_next_page(click: Click, query: PageQuery, services: Services) -> None:
    page = services.hubspot.breakdown(query.identifier, state=query.state, limit=query.limit, after=query.after)
    if not page.results:
        raise ClickFailed("empty", {**render_empty(query, click.tr), **EPHEMERAL})
    contact = page.contact
    message = render_page(
        page, query, click.tr, contact_url=services.contact_url(contact.contact_id if contact else None)
    )
    if not click.in_thread:
        answer_privately(click, services, message)
        return
    post_in_thread(click, services, message)
    note = click.tr("page.posted_in_thread", page=query.page)
    retire(click, services, NEXT_ACTION_ID, note, suffix=str(query.page))
