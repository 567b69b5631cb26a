"""Summary: the `Summary` button posts the contact's attendance summary in the thread of the first page;
`/participations <id> summary` posts it in the channel (with an Export CSV button under it, see `summary_answer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.domain.queries import ContactQuery, PageQuery
from bot.domain.summary import Gathered, summarise_gathered
from bot.i18n import Translator
from bot.listeners._shared.clicks import Click, answer_privately, post_in_thread, show_button_used
from bot.listeners._shared.every_record import contact_button, fetch_all
from bot.render.blocks import Message
from bot.render.links import contact_url
from bot.render.page import render_empty
from bot.render.summary import SUMMARY_ACTION_ID, export_button, render_summary
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    button = contact_button(
        runtime,
        kind="summary",
        action_id=SUMMARY_ACTION_ID,
        already_key="summary.already",
        deliver=lambda click, query, gathered: deliver_summary(click, query, gathered, runtime),
    )
    button.register(app, SUMMARY_ACTION_ID, runtime)


def summary_message(
    gathered: Gathered, query: ContactQuery, runtime: Runtime, tr: Translator, *, with_export: bool
) -> dict[str, Any]:
    summary = summarise_gathered(gathered)
    contact = summary.contact
    return render_summary(
        summary,
        query,
        tr,
        cap=runtime.settings.max_export_records,
        contact_url=contact_url(runtime.settings, contact.contact_id if contact else None),
        buttons=[export_button(query, tr)] if with_export else (),
    )


def deliver_summary(click: Click, query: ContactQuery, gathered: Gathered, runtime: Runtime) -> None:
    message = summary_message(gathered, query, runtime, click.tr, with_export=False)
    if not click.in_thread:
        answer_privately(click, runtime, message)
        return
    post_in_thread(click, runtime, message)
    show_button_used(click, runtime, SUMMARY_ACTION_ID, click.tr("summary.posted_in_thread"), "summary")


def summary_answer(
    query: ContactQuery, runtime: Runtime, language: Callable[[], str], who: str | None = None
) -> tuple[Message, bool]:
    """(the summary with its Export CSV button, True), or (the "no participations" notice, False)."""
    gathered = fetch_all(runtime, query)
    tr = Translator(language())
    if not gathered.records:
        return render_empty(PageQuery(identifier=query.identifier, state=query.state), tr, who), False
    return summary_message(gathered, query, runtime, tr, with_export=True), True
