"""What every button shares: who clicked and where, the allow-list, the value, once-only, the answer, the audit.

A button's own work gets a `Click` and its decoded value, and either returns (it delivered) or raises
`ClickFailed` with the notice to show. The runner frees the click *before* saying anything, so a user who reads
"try again" and clicks again is never told the click is already being handled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bot.blocks import Block, Message, escape, mark_action_done, render_notice
from bot.listeners.common import EPHEMERAL, failure_notice, shown_reference
from bot.messages import Translator
from bot.services import Services, new_reference

log = logging.getLogger("bot.listeners")

Query = TypeVar("Query")

# chat.postMessage errors after which the click's response_url can still post into the thread (it bypasses
# channel membership, and has its own rate limit once Slack's 429 outlasted our retries).
FALLBACK_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "missing_scope", "not_allowed_token_type", "ratelimited"}
)


class ClickFailed(Exception):
    """The work could not deliver; `notice` (if any) tells the clicker why, `outcome` goes to the audit log."""

    def __init__(self, outcome: str, notice: Message | None = None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.notice = notice


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
class Button(Generic[Query]):
    """How one kind of button is handled; `run` does the shared part."""

    kind: str  # audit label
    decode: Callable[[str | None], Query]
    claim_key: Callable[[Click, Query], Hashable]
    already_key: str  # catalogue text for a second click while the first holds the claim
    work: Callable[[Click, Query], None]
    describe: Callable[[Query], tuple[str, str | None, int | None]]  # (identifier, state, page) for the audit

    def run(self, body: dict[str, Any], client: WebClient, services: Services) -> None:
        """Every path ends in something the clicker sees; nothing escapes to Bolt."""
        started = services.clock()
        reference = new_reference()
        response_url = body.get("response_url")
        user = _object(body.get("user"))
        query: Query | None = None
        outcome = "internal_error"
        user_id = user.get("id")
        language: Callable[[], str] = lambda: services.locales.known(user_id)  # noqa: E731  # until a lookup starts
        claim: str | None = None
        try:
            channel, message_ts, root = thread_root(body)
            team = user.get("team_id") or _object(body.get("team")).get("id")
            if not services.access.allows(user_id, channel, team):  # before anything reaches Slack or HubSpot
                outcome = "denied"
                services.responder.post(response_url, {"text": Translator(language())("error.denied"), **EPHEMERAL})
                return
            language = services.locales.start(user_id)
            actions = body.get("actions") or [{}]
            query = self.decode(_object(actions[0]).get("value") if isinstance(actions, list) else None)
            click = Click(body, client, language, channel, message_ts, root, response_url, reference)
            claim = claim_name(self.claim_key(click, query))
            if not services.state.clicks.claim(claim):
                claim = None  # the first click owns it
                outcome = "duplicate_click"
                services.responder.post(response_url, {"text": click.tr(self.already_key), **EPHEMERAL})
                return
            self.work(click, query)
            outcome = "ok"
        except ClickFailed as failed:
            if claim is not None:
                services.state.clicks.release(claim)
            outcome = failed.outcome
            if failed.notice is not None:
                services.responder.post(response_url, failed.notice)
        except Exception as exc:
            if claim is not None:
                services.state.clicks.release(claim)
            identifier = self.describe(query)[0] if query is not None else None
            message, outcome = failure_notice(exc, Translator(language()), identifier, reference)
            reference = shown_reference(exc, reference)
            services.responder.post(response_url, message)
        finally:
            services.metrics.click(self.kind, outcome)
            identifier, state, page = self.describe(query) if query is not None else (None, None, None)
            services.audit(
                self.kind,
                body=body,
                identifier=identifier,
                state=state,
                page=page,
                outcome=outcome,
                started=started,
                reference=reference,
            )


def claim_name(parts: Hashable) -> str:
    """A claim or message key as one string for the state store (which hashes it): the parts, unambiguously."""
    return json.dumps(list(parts) if isinstance(parts, tuple) else parts)


def post_in_thread(click: Click, services: Services, message: Message) -> None:
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
        services.metrics.slack_error("chat.postMessage", "timeout")
        unconfirmed(click, services, "chat.postMessage")
        return
    services.metrics.slack_error("chat.postMessage", error)
    log.warning("chat.postMessage failed (%s) ref=%s", error, click.reference)
    if error in FALLBACK_ERRORS:
        fallback = {**message, "response_type": "in_channel", "thread_ts": click.root, "replace_original": False}
        if services.responder.post(click.response_url, fallback):
            return
        raise ClickFailed("post_failed", click.notice("error.post_failed", reason=escape(error)))
    # An archived channel takes no new messages by any route: say so instead of suggesting an invite.
    key = "error.archived" if error == "is_archived" else "error.slack_failed"
    raise ClickFailed(f"slack_{error}", click.notice(key, reason=escape(error)))


def unconfirmed(click: Click, services: Services, method: str) -> None:
    """The request went out but Slack's answer did not come back in time: it most likely arrived.

    Posting again could put the same page in the thread twice, so the click counts as done (its claim is kept,
    its button retired) and the clicker is told what to do if it did not arrive.
    """
    log.warning("%s sent, but Slack did not confirm it in time ref=%s", method, click.reference)
    services.responder.post(click.response_url, click.notice("error.post_unconfirmed", reference=click.reference))


def answer_privately(click: Click, services: Services, message: Message) -> None:
    """Under an ephemeral message, or with no channel to thread in: only the clicker sees the answer."""
    if not services.responder.post(click.response_url, {**message, **EPHEMERAL}):
        raise ClickFailed("post_failed")


def retire(click: Click, services: Services, action_id: str, note: str, suffix: str) -> None:
    """Keep the clicked message, drop only the button that has done its job, and say where its result went."""
    message = click.body.get("message") or {}
    blocks: list[Block] | Any = message.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return
    message_key = claim_name((click.channel, click.message_ts))
    with services.state.edits.editing(message_key, (action_id, note, suffix)) as edits:
        for done_action, done_note, done_suffix in edits:
            blocks = mark_action_done(blocks, done_action, done_note, suffix=done_suffix)
        services.responder.post(
            click.response_url,
            {"replace_original": True, "text": message.get("text") or note, "blocks": blocks},
        )
