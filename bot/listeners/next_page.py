"""Next page: post the following page in the thread of the first result, then retire the button."""

from __future__ import annotations

from slack_bolt import App

from bot.domain.parsing import PageQuery, decode_query
from bot.listeners._shared.clicks import Button, Click, ClickFailed, answer_privately, post_in_thread, retire
from bot.listeners._shared.failures import EPHEMERAL, ack_then
from bot.render.links import contact_url
from bot.render.page import NEXT_ACTION_ID, render_empty, render_page
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    button: Button[PageQuery] = Button(
        kind="next",
        decode=decode_query,
        # One page per message and cursor: a second click (or a stale copy of the button) posts nothing more.
        claim_key=lambda click, query: (click.channel, click.message_ts, "next", query.after),
        already_key="error.already_posted",
        work=lambda click, query: deliver_next_page(click, query, runtime),
        describe=lambda query: (query.identifier, query.state.value if query.state else None, query.page),
    )

    app.action(NEXT_ACTION_ID)(ack_then(runtime, lambda body, client: button.run(body, client, runtime), kind="click"))


def deliver_next_page(click: Click, query: PageQuery, runtime: Runtime) -> None:
    page = runtime.hubspot.breakdown(query.identifier, state=query.state, limit=query.limit, after=query.after)
    if not page.results:
        raise ClickFailed("empty", {**render_empty(query, click.tr), **EPHEMERAL})
    contact = page.contact
    message = render_page(
        page, query, click.tr, contact_url=contact_url(runtime.settings, contact.contact_id if contact else None)
    )
    if not click.in_thread:
        answer_privately(click, runtime, message)
        return
    post_in_thread(click, runtime, message)
    note = click.tr("page.posted_in_thread", page=query.page)
    retire(click, runtime, NEXT_ACTION_ID, note, suffix=str(query.page))
