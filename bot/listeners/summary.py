"""Summary: the `Summary` button posts the contact's attendance summary in the thread of the first page;
`/participations <id> summary` posts it in the channel (with an Export CSV button under it, see `summary_answer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.blocks import Message, render_empty
from bot.listeners.bulk import contact_button, fetch_all
from bot.listeners.clicks import Click, answer_privately, post_in_thread, retire
from bot.listeners.common import ack_then
from bot.messages import Translator
from bot.parsing import ContactQuery, PageQuery
from bot.services import Services
from bot.summary import Gathered, summarise_gathered
from bot.views_summary import SUMMARY_ACTION_ID, export_button, render_summary


def register(app: App, services: Services) -> None:
    button = contact_button(
        services,
        kind="summary",
        action_id=SUMMARY_ACTION_ID,
        already_key="summary.already",
        deliver=lambda click, query, gathered: deliver_summary(click, query, gathered, services),
    )

    app.action(SUMMARY_ACTION_ID)(
        ack_then(services, lambda body, client: button.run(body, client, services), kind="click")
    )


def summary_message(
    gathered: Gathered, query: ContactQuery, services: Services, tr: Translator, *, with_export: bool
) -> dict[str, Any]:
    summary = summarise_gathered(gathered)
    contact = summary.contact
    return render_summary(
        summary,
        query,
        tr,
        cap=services.settings.max_export_records,
        contact_url=services.contact_url(contact.contact_id if contact else None),
        buttons=[export_button(query, tr)] if with_export else (),
    )


def deliver_summary(click: Click, query: ContactQuery, gathered: Gathered, services: Services) -> None:
    message = summary_message(gathered, query, services, click.tr, with_export=False)
    if not click.in_thread:
        answer_privately(click, services, message)
        return
    post_in_thread(click, services, message)
    retire(click, services, SUMMARY_ACTION_ID, click.tr("summary.posted_in_thread"), "summary")


def summary_answer(
    query: ContactQuery, services: Services, language: Callable[[], str], who: str | None = None
) -> tuple[Message, bool]:
    """(the summary with its Export CSV button, True), or (the "no participations" notice, False)."""
    gathered = fetch_all(services, query)
    tr = Translator(language())
    if not gathered.records:
        return render_empty(PageQuery(identifier=query.identifier, state=query.state), tr, who), False
    return summary_message(gathered, query, services, tr, with_export=True), True
