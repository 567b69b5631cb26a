"""Export CSV: upload every participation of the contact (up to the cap) as a CSV file into the thread.

`files_upload_v2` runs Slack's three steps (files.getUploadURLExternal → upload → files.completeUploadExternal)
and needs the `files:write` scope. Unlike a message, a file cannot fall back to the response_url, so when the bot
may not post here the clicker is told privately how to fix it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import WebClient

from bot.export import export_filename, to_csv_bytes
from bot.listeners.bulk import Click, handle_contact_click, retire
from bot.listeners.common import EPHEMERAL, ack_now
from bot.services import Services
from bot.summary import Gathered
from bot.views_summary import EXPORT_ACTION_ID, export_comment

log = logging.getLogger("bot.listeners")


def register(app: App, services: Services) -> None:
    def run_export(body: dict[str, Any], client: WebClient) -> None:
        handle_contact_click(
            body,
            services,
            kind="export",
            action_id=EXPORT_ACTION_ID,
            already_key="export.already",
            work=lambda click, gathered: deliver_export(click, gathered, client, services),
            needs_thread=True,
            not_here_key="export.not_here",
        )

    app.action(EXPORT_ACTION_ID)(ack=ack_now, lazy=[run_export])


def deliver_export(click: Click, gathered: Gathered, client: WebClient, services: Services) -> str:
    cap = services.settings.max_export_records
    filename = export_filename(click.query.identifier, click.query.state, datetime.now(timezone.utc))
    try:
        client.files_upload_v2(
            channel=click.channel,
            thread_ts=click.root,
            content=to_csv_bytes(gathered.records),
            filename=filename,
            title=filename,
            initial_comment=export_comment(gathered, click.query, click.tr, cap=cap),
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
        log.info("files_upload_v2 failed (%s)", error)
        services.responder.post(click.response_url, {"text": click.tr("error.post_failed", reason=error), **EPHEMERAL})
        return f"slack_{error}"
    except SlackClientError as exc:  # the upload step itself failed (not an API error)
        log.warning("files_upload_v2 failed: %s", type(exc).__name__)
        reason = "upload_failed"
        services.responder.post(click.response_url, {"text": click.tr("error.post_failed", reason=reason), **EPHEMERAL})
        return f"slack_{reason}"
    retire(click, services, EXPORT_ACTION_ID, click.tr("export.posted_in_thread"), "export")
    return "ok"
