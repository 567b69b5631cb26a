"""Posting an answer into the thread of a message someone pointed at (a message shortcut, or its choice).

Unlike a click on the bot's own message, there is no response_url that can post into that thread: where the bot
may not post (a private channel or DM it is not in), the user gets the answer privately, with how to invite it.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bot.i18n import Translator
from bot.listeners._shared.lifecycle import NotDelivered
from bot.render.blocks import EPHEMERAL, Message, escape
from bot.render.notices import render_notice
from bot.runtime import Runtime

log = logging.getLogger("bot.listeners")

NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def post_in_message_thread(
    client: WebClient,
    runtime: Runtime,
    channel: str,
    root: str,
    message: Message,
    response_url: str | None,
    tr: Translator,
    reference: str,
) -> str:
    """The audit outcome: "ok", or "private_<error>" when only the user could be answered.

    Raises NotDelivered (with the notice to show) when nothing reached the user's eyes but that notice.
    """
    try:
        client.chat_postMessage(
            channel=channel, thread_ts=root, text=message["text"], blocks=message["blocks"], unfurl_links=False
        )
        return "ok"
    except TimeoutError:
        log.warning("chat.postMessage sent, but Slack did not confirm it in time ref=%s", reference)
        notice = render_notice(tr("error.post_unconfirmed", reference=reference), tr, reference)
        raise NotDelivered("unconfirmed", {**notice, **EPHEMERAL}) from None
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
    log.warning("chat.postMessage into a message's thread failed (%s) ref=%s", error, reference)
    if error in NOT_A_MEMBER:
        runtime.responder.post(response_url, {"text": tr("shortcut.not_in_channel", reason=escape(error)), **EPHEMERAL})
        if not runtime.responder.post(response_url, {**message, **EPHEMERAL}):
            raise NotDelivered("post_failed")
        return f"private_{error}"
    key = "error.archived" if error == "is_archived" else "error.slack_failed"
    notice = render_notice(tr(key, reason=escape(error)), tr, reference)
    raise NotDelivered(f"slack_{error}", {**notice, **EPHEMERAL})
