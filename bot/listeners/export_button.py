"""Export CSV: upload every participation of the contact (up to the cap) as a CSV file into the thread.

`files_upload_v2` runs Slack's three steps (files.getUploadURLExternal → upload → files.completeUploadExternal)
and needs the `files:write` scope. Unlike a message, a file cannot fall back to the response_url, so when the bot
may not post here the clicker is told privately how to fix it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from slack_bolt import App
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.export import export_filename, to_csv_bytes
from bot.domain.queries import ContactQuery
from bot.domain.summary import Gathered
from bot.listeners._shared.clicks import Click, show_button_used, unconfirmed
from bot.listeners._shared.every_record import contact_button
from bot.listeners._shared.lifecycle import NotDelivered
from bot.render.blocks import escape
from bot.render.summary import EXPORT_ACTION_ID, export_comment
from bot.runtime import Runtime

log = logging.getLogger("bot.listeners")


def register(app: App, runtime: Runtime) -> None:
    button = contact_button(
        runtime,
        kind="export",
        action_id=EXPORT_ACTION_ID,
        already_key="export.already",
        deliver=lambda click, query, gathered: deliver_export(click, query, gathered, runtime),
        not_here_key="export.not_here",
    )
    button.register(app, EXPORT_ACTION_ID, runtime)


def deliver_export(click: Click, query: ContactQuery, gathered: Gathered, runtime: Runtime) -> None:
    cap = runtime.settings.max_export_records
    filename = export_filename(query.identifier, query.state, datetime.now(timezone.utc))
    try:
        click.client.files_upload_v2(
            channel=click.channel,
            thread_ts=click.root,
            content=to_csv_bytes(gathered.records),
            filename=filename,
            title=filename,
            initial_comment=export_comment(gathered, query, click.tr, cap=cap),
        )
    except TimeoutError:
        runtime.metrics.slack_error("files_upload_v2", "timeout")
        unconfirmed(click, runtime, "files_upload_v2")
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        runtime.metrics.slack_error("files_upload_v2", error)
        log.warning("files_upload_v2 failed (%s) ref=%s", error, click.reference)
        # Only membership problems are fixed by inviting the bot; anything else is for an admin.
        key = "error.post_failed" if error in {"not_in_channel", "channel_not_found"} else "error.slack_failed"
        raise NotDelivered(f"slack_{error}", click.notice(key, reason=escape(error))) from None
    except SlackClientError as exc:  # the upload step itself failed (not an API error)
        runtime.metrics.slack_error("files_upload_v2", "upload_failed")
        log.warning("files_upload_v2 failed: %s ref=%s", type(exc).__name__, click.reference)
        raise NotDelivered("slack_upload_failed", click.notice("error.slack_failed", reason="upload_failed")) from None
    show_button_used(click, runtime, EXPORT_ACTION_ID, click.tr("export.posted_in_thread"), "export")
