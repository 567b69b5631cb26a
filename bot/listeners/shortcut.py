"""The message shortcut "Event participations": look up the contacts a message mentions, in its thread.

Used on a lead alert, a form notification or a colleague's question: the email addresses in the message (plain,
`<mailto:…|…>` links, or in its blocks) are found; one is looked up and its first page posted in the message's
thread (its root when the message is a reply), where Next, Summary and Export then work as under a command; several
get a private choice; none, a private word that `/participations` takes a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk.web import WebClient

from bot.listeners.clicks import ClickFailed
from bot.listeners.commands import first_answer
from bot.listeners.common import EPHEMERAL, ack_then, report_failure
from bot.listeners.threads import post_in_message_thread
from bot.messages import Translator
from bot.parsing import MAX_CHOICES, Choice, CommandRequest, PageQuery, emails_in_message
from bot.services import Services, new_reference
from bot.views_choice import ContactOption, render_choice

CALLBACK_ID = "participations_lookup"
_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,8}$")


def register(app: App, services: Services) -> None:
    app.shortcut(CALLBACK_ID)(
        ack_then(services, lambda body, client: handle_shortcut(body, client, services), kind="shortcut")
    )


def message_thread(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, thread root): the message's own thread, or the thread it is a reply in."""
    raw = body.get("message")
    message: dict[str, Any] = raw if isinstance(raw, dict) else {}
    channel = (body.get("channel") or {}).get("id")
    root = message.get("thread_ts") or message.get("ts") or body.get("message_ts")
    return channel, root if isinstance(root, str) and _TS.match(root) else None


def handle_shortcut(body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Every path ends in something the user sees; nothing escapes to Bolt. One audit line per use."""
    started = services.clock()
    reference = new_reference()
    response_url = body.get("response_url")
    user_id = (body.get("user") or {}).get("id")
    language: Callable[[], str] = lambda: services.locales.known(user_id)  # noqa: E731  # until a lookup starts
    identifier: str | None = None
    outcome = "internal_error"
    try:
        channel, root = message_thread(body)
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        if not services.access.allows(user_id, channel, team):  # before anything reaches HubSpot
            outcome = "denied"
            services.responder.post(response_url, {"text": Translator(language())("error.denied"), **EPHEMERAL})
            return
        language = services.locales.start(user_id)
        emails = emails_in_message(body.get("message"))
        if not emails:
            outcome = "no_email"
            services.responder.post(response_url, {"text": Translator(language())("shortcut.no_email"), **EPHEMERAL})
            return
        if len(emails) > 1:
            outcome = "choice"
            tr = Translator(language())
            shown = emails[:MAX_CHOICES]
            total = tr.number(len(emails))
            if len(emails) > len(shown):
                intro = tr("choice.emails_many", total=total, shown=tr.number(len(shown)))
            else:
                intro = tr("choice.emails", total=total)
            options = [ContactOption(email, email=email) for email in shown]
            template = Choice(identifier="", root=root)
            message = render_choice(options, intro, tr, template=template, total=len(emails))
            services.responder.post(response_url, {**message, **EPHEMERAL})
            return
        identifier = emails[0]
        answer, found = first_answer(CommandRequest(PageQuery(identifier)), services, language)
        tr = Translator(language())
        if not found:
            outcome = "empty"
            services.responder.post(response_url, {**answer, **EPHEMERAL})
        elif channel is None or root is None:
            outcome = "private_no_thread"
            services.responder.post(response_url, {**answer, **EPHEMERAL})
        else:
            outcome = post_in_message_thread(client, services, channel, root, answer, response_url, tr, reference)
    except ClickFailed as failed:
        outcome = failed.outcome
        if failed.notice is not None:
            services.responder.post(response_url, failed.notice)
    except Exception as exc:
        outcome, reference = report_failure(services, response_url, exc, Translator(language()), identifier, reference)
    finally:
        services.metrics.shortcut(outcome)
        services.audit(
            "shortcut",
            body=body,
            identifier=identifier,
            state=None,
            page=1 if identifier else None,
            outcome=outcome,
            started=started,
            reference=reference,
        )
