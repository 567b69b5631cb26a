"""Next page: post the following page in the thread of the first result, then take the used button away."""

from __future__ import annotations

from slack_bolt import App

from bot.domain.buttons import decode_query
from bot.domain.queries import PageQuery
from bot.listeners._shared.clicks import ButtonHandler, Click, answer_privately, post_in_thread, show_button_used
from bot.listeners._shared.lifecycle import NotDelivered
from bot.render.blocks import EPHEMERAL, NEXT_ACTION_ID
from bot.render.links import contact_url
from bot.render.page import render_empty, render_page
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    button: ButtonHandler[PageQuery] = ButtonHandler(
        kind="next",
        decode=decode_query,
        # One page per message and cursor: a second click (or a stale copy of the button) posts nothing more.
        claim_key=lambda click, query: (click.channel, click.message_ts, "next", query.after),
        already_key="error.already_posted",
        work=lambda click, query: deliver_next_page(click, query, runtime),
        describe=lambda query: (query.identifier, query.state.value if query.state else None, query.page),
    )
    button.register(app, NEXT_ACTION_ID, runtime)


def deliver_next_page(click: Click, query: PageQuery, runtime: Runtime) -> None:
    page = runtime.hubspot.breakdown(query.identifier, state=query.state, limit=query.limit, after=query.after)
    if not page.results:
        raise NotDelivered("empty", {**render_empty(query, click.tr), **EPHEMERAL})
    contact = page.contact
    message = render_page(
        page, query, click.tr, contact_url=contact_url(runtime.settings, contact.contact_id if contact else None)
    )
    if not click.in_thread:
        answer_privately(click, runtime, message)
        return
    post_in_thread(click, runtime, message)
    note = click.tr("page.posted_in_thread", page=query.page)
    show_button_used(click, runtime, NEXT_ACTION_ID, note, suffix=str(query.page))
