"""The message shortcut "Event participations": look up the contacts a message mentions, in its thread.

Used on a lead alert, a form notification or a colleague's question: the email addresses in the message (plain,
`<mailto:…|…>` links, or in its blocks) are found; one is looked up and its first page posted in the message's
thread (its root when the message is a reply), where Next, Summary and Export then work as under a command; several
get a private choice; none, a private word that `/participations` takes a name.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App
from slack_sdk.web import WebClient

from bot.domain.emails import emails_in_message
from bot.domain.queries import MAX_CHOICES, Choice, CommandRequest, PageQuery
from bot.listeners._shared.ack import ack_and_defer
from bot.listeners._shared.lifecycle import handling
from bot.listeners._shared.threads import post_in_message_thread
from bot.listeners.command import first_answer
from bot.render.blocks import EPHEMERAL
from bot.render.choice import ContactOption, render_choice
from bot.runtime import Runtime

CALLBACK_ID = "participations_lookup"
_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,8}$")


def register(app: App, runtime: Runtime) -> None:
    app.shortcut(CALLBACK_ID)(
        ack_and_defer(runtime, lambda body, client: handle_shortcut(body, client, runtime), kind="shortcut")
    )


def message_thread(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, thread root): the message's own thread, or the thread it is a reply in."""
    raw = body.get("message")
    message: dict[str, Any] = raw if isinstance(raw, dict) else {}
    channel = (body.get("channel") or {}).get("id")
    root = message.get("thread_ts") or message.get("ts") or body.get("message_ts")
    return channel, root if isinstance(root, str) and _TS.match(root) else None


def handle_shortcut(body: dict[str, Any], client: WebClient, runtime: Runtime) -> None:
    """One audit line per use."""
    user_id = (body.get("user") or {}).get("id")
    with handling(runtime, body, kind="shortcut", user_id=user_id, count=runtime.metrics.shortcut) as request:
        channel, root = message_thread(body)
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        if not request.admit(channel, team):
            return
        emails = emails_in_message(body.get("message"))
        if not emails:
            request.outcome = "no_email"
            request.answer({"text": request.tr()("shortcut.no_email"), **EPHEMERAL})
            return
        if len(emails) > 1:
            request.outcome = "choice"
            tr = request.tr()
            shown = emails[:MAX_CHOICES]
            total = tr.number(len(emails))
            if len(emails) > len(shown):
                intro = tr("choice.emails_many", total=total, shown=tr.number(len(shown)))
            else:
                intro = tr("choice.emails", total=total)
            options = [ContactOption(email, email=email) for email in shown]
            template = Choice(identifier="", root=root)
            message = render_choice(options, intro, tr, template=template, total=len(emails))
            request.answer({**message, **EPHEMERAL})
            return
        request.identifier = emails[0]
        request.page = 1
        answer, found = first_answer(CommandRequest(PageQuery(request.identifier)), runtime, request.language)
        tr = request.tr()
        if not found:
            request.outcome = "empty"
            request.answer({**answer, **EPHEMERAL})
        elif channel is None or root is None:
            request.outcome = "private_no_thread"
            request.answer({**answer, **EPHEMERAL})
        else:
            request.outcome = post_in_message_thread(
                client, runtime, channel, root, answer, request.response_url, tr, request.reference
            )
