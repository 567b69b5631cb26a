"""What every button shares: who clicked and where, the value, once-only, posting the result, the used button.

A `ButtonHandler` runs each click through the request lifecycle (lifecycle.py: allow-list, failure notice, audit);
the button's own work gets a `Click` and its decoded value, and either returns (it delivered) or raises
`NotDelivered` with the notice to show, which frees the click's claim before anything is said.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bot.i18n import Translator
from bot.listeners._shared.ack import ack_and_defer
from bot.listeners._shared.lifecycle import NotDelivered, handling
from bot.render.blocks import EPHEMERAL, Block, Message, escape
from bot.render.notices import render_notice
from bot.render.used_buttons import mark_button_used
from bot.runtime import Runtime

log = logging.getLogger("bot.listeners")

Query = TypeVar("Query")

# chat.postMessage errors after which the click's response_url can still post into the thread (it bypasses
# channel membership, and has its own rate limit once Slack's 429 outlasted our retries).
FALLBACK_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "missing_scope", "not_allowed_token_type", "ratelimited"}
)


@dataclass(frozen=True)
class Click:
    """One button click: where it happened, who made it, how to answer, in the clicker's language."""

    body: dict[str, Any]
    client: WebClient
    language: Callable[[], str]  # still being looked up while HubSpot is asked: resolved at the first text
    channel: str | None
    message_ts: str | None
    root: str | None
    response_url: str | None
    reference: str

    @cached_property
    def tr(self) -> Translator:
        return Translator(self.language())

    @property
    def in_thread(self) -> bool:
        """False under ephemeral messages (never thread under them) or when Slack sent no location."""
        ephemeral = bool((self.body.get("container") or {}).get("is_ephemeral"))
        return not ephemeral and bool(self.channel) and bool(self.root)

    def notice(self, key: str, **values: Any) -> Message:
        """An ephemeral notice in the clicker's language, with the reference an admin can search for."""
        return {**render_notice(self.tr(key, **values), self.tr, self.reference), **EPHEMERAL}


def _object(value: Any) -> dict[str, Any]:
    """A payload field that should be an object: anything else reads as empty (a forged or broken payload)."""
    return value if isinstance(value, dict) else {}


def thread_root(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, clicked message ts, thread root ts): a reply's root is its parent, else the message itself."""
    container = _object(body.get("container"))
    message = _object(body.get("message"))
    channel = container.get("channel_id") or _object(body.get("channel")).get("id")
    message_ts = container.get("message_ts") or message.get("ts")
    root = container.get("thread_ts") or message.get("thread_ts") or message_ts
    return channel, message_ts, root


@dataclass(frozen=True)
class ButtonHandler(Generic[Query]):
    """How one kind of button is handled; `run` does the shared part."""

    kind: str  # audit label
    decode: Callable[[str | None], Query]
    claim_key: Callable[[Click, Query], Hashable]
    already_key: str  # catalogue text for a second click while the first holds the claim
    work: Callable[[Click, Query], None]
    describe: Callable[[Query], tuple[str, str | None, int | None]]  # (identifier, state, page) for the audit

    def register(self, app: App, action_id: str, runtime: Runtime) -> None:
        """Answer clicks on `action_id`: ack first, then `run` on the background pool."""
        listener = ack_and_defer(runtime, lambda body, client: self.run(body, client, runtime), kind="click")
        app.action(action_id)(listener)

    def run(self, body: dict[str, Any], client: WebClient, runtime: Runtime) -> None:
        user = _object(body.get("user"))
        count = lambda outcome: runtime.metrics.click(self.kind, outcome)  # noqa: E731
        with handling(runtime, body, kind=self.kind, user_id=user.get("id"), count=count) as request:
            channel, message_ts, root = thread_root(body)
            team = user.get("team_id") or _object(body.get("team")).get("id")
            if not request.admit(channel, team):
                return
            actions = body.get("actions") or [{}]
            query = self.decode(_object(actions[0]).get("value") if isinstance(actions, list) else None)
            request.identifier, request.state, request.page = self.describe(query)
            click = Click(
                body, client, request.language, channel, message_ts, root, request.response_url, request.reference
            )
            claim = claim_name(self.claim_key(click, query))
            if not runtime.state.clicks.claim(claim):  # the first click owns it
                request.outcome = "duplicate_click"
                request.answer({"text": click.tr(self.already_key), **EPHEMERAL})
                return
            request.claim = claim
            self.work(click, query)
            request.outcome = "ok"


def claim_name(parts: Hashable) -> str:
    """A claim or message key as one string for the state store (which hashes it): the parts, unambiguously."""
    return json.dumps(list(parts) if isinstance(parts, tuple) else parts)


def post_in_thread(click: Click, runtime: Runtime, message: Message) -> None:
    """chat.postMessage into the thread; where the bot may not post, the click's response_url still can."""
    assert click.channel is not None
    assert click.root is not None
    try:
        click.client.chat_postMessage(
            channel=click.channel,
            thread_ts=click.root,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
        )
        return
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown_error"))
    except TimeoutError:
        runtime.metrics.slack_error("chat.postMessage", "timeout")
        unconfirmed(click, runtime, "chat.postMessage")
        return
    runtime.metrics.slack_error("chat.postMessage", error)
    log.warning("chat.postMessage failed (%s) ref=%s", error, click.reference)
    if error in FALLBACK_ERRORS:
        fallback = {**message, "response_type": "in_channel", "thread_ts": click.root, "replace_original": False}
        if runtime.responder.post(click.response_url, fallback):
            return
        raise NotDelivered("post_failed", click.notice("error.post_failed", reason=escape(error)))
    # An archived channel takes no new messages by any route: say so instead of suggesting an invite.
    key = "error.archived" if error == "is_archived" else "error.slack_failed"
    raise NotDelivered(f"slack_{error}", click.notice(key, reason=escape(error)))


def unconfirmed(click: Click, runtime: Runtime, method: str) -> None:
    """The request went out but Slack's answer did not come back in time: it most likely arrived.

    Posting again could put the same page in the thread twice, so the click counts as done (its claim is kept,
    its used button taken away) and the clicker is told what to do if it did not arrive.
    """
    log.warning("%s sent, but Slack did not confirm it in time ref=%s", method, click.reference)
    runtime.responder.post(click.response_url, click.notice("error.post_unconfirmed", reference=click.reference))


def answer_privately(click: Click, runtime: Runtime, message: Message) -> None:
    """Under an ephemeral message, or with no channel to thread in: only the clicker sees the answer."""
    if not runtime.responder.post(click.response_url, {**message, **EPHEMERAL}):
        raise NotDelivered("post_failed")


def show_button_used(click: Click, runtime: Runtime, action_id: str, note: str, suffix: str) -> None:
    """Keep the clicked message, drop only the button that has done its job, and say where its result went."""
    message = click.body.get("message") or {}
    blocks: list[Block] | Any = message.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return
    message_key = claim_name((click.channel, click.message_ts))
    with runtime.state.edits.editing(message_key, (action_id, note, suffix)) as edits:
        for done_action, done_note, done_suffix in edits:
            blocks = mark_button_used(blocks, done_action, done_note, suffix=done_suffix)
        runtime.responder.post(
            click.response_url,
            {"replace_original": True, "text": message.get("text") or note, "blocks": blocks},
        )
