"""`participations-bot preview`: the bot's answer for a contact, in the terminal, without Slack.

The lookup and the message are the bot's own (`HubSpotClient.breakdown` → `render_page` / `render_empty`);
only the last step differs: `render_terminal` turns the Block Kit message into text, resolving Slack's
`<!date^…>` tokens in the local time zone, or `--json` prints the payload itself. `--sample` starts the bundled
loopback HubSpot (bot/sample/) and points the same client at it.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import TextIO

from bot.config import ConfigError, Settings, load_settings
from bot.domain.command import parse_command, parse_state
from bot.domain.queries import DEFAULT_LIMIT, MAX_CHOICES, Choice, InputError, NameSearch, PageQuery, clean_identifier
from bot.hubspot.client import HubSpotClient
from bot.hubspot.errors import ContactNotFound, HubSpotError, MissingScopes
from bot.hubspot.models import State
from bot.i18n import Translator
from bot.logging_setup import configure_logging
from bot.render.blocks import Message, escape
from bot.render.choice import ContactOption, render_choice
from bot.render.links import contact_url
from bot.render.page import render_empty, render_page
from bot.tools.terminal import mrkdwn_to_text, render_terminal

log = logging.getLogger(__name__)

PROGRAM = "participations-bot preview"


class PreviewError(Exception):
    """A failure to report in one line; `exit_code` 1 for a lookup failure, 2 for bad input or configuration."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class PreviewRequest:
    identifier: str
    state: str | None = None
    limit: int = DEFAULT_LIMIT
    after: str | None = None
    page: int = 1
    as_json: bool = False
    sample: bool = False
    language: str | None = None


def build_query(request: PreviewRequest, tr: Translator) -> PageQuery:
    """The same validation as the slash command, with its messages."""
    try:
        identifier = clean_identifier(request.identifier)
        state: State | None = parse_state(request.state) if request.state else None
    except InputError as exc:
        text = mrkdwn_to_text(
            tr(exc.key, **exc.values), tz=timezone.utc, now=datetime.now(timezone.utc), language=tr.language
        )
        raise PreviewError(text, exit_code=2) from None
    return PageQuery(identifier=identifier, state=state, limit=request.limit, after=request.after, page=request.page)


def name_to_search(request: PreviewRequest) -> NameSearch | None:
    """The name search the bot would run for this contact (and state), or None for an email or id.

    `preview --sample Jane Doe` (unquoted) reads `Doe` as the state; as the slash command does, any word that is
    not a state is part of the name.
    """
    try:
        clean_identifier(request.identifier)
        return None
    except InputError:
        pass
    try:
        parsed = parse_command(" ".join(part for part in (request.identifier, request.state) if part))
    except InputError:
        return None  # build_query says what is wrong, in the command's own words
    if isinstance(parsed, NameSearch) and parsed.limit == DEFAULT_LIMIT and parsed.action == "page":
        return parsed
    return None


def search_message(settings: Settings, search: NameSearch, request: PreviewRequest, tr: Translator) -> Message:
    """What `/participations <name>` would answer: the one contact's page, or the choice among several."""
    client = HubSpotClient.from_settings(settings)
    try:
        result = client.search_contacts(search.name, limit=MAX_CHOICES)
    except MissingScopes:
        raise PreviewError(_terminal_text(tr("search.scope_missing"), tr)) from None
    finally:
        client.close()
    if not result.matches:
        text = _terminal_text(tr("search.no_match", name=escape(search.name)), tr)
        raise PreviewError(text + (f" ({_sample_hint(tr)})" if request.sample else ""))
    if len(result.matches) == 1 and result.total <= 1:
        query = PageQuery(result.matches[0].contact_id, search.state, request.limit, request.after, request.page)
        return fetch_message(settings, query, tr)
    shown = len(result.matches[:MAX_CHOICES])
    name = escape(search.name)
    if result.total > shown:
        intro = tr("choice.many", total=tr.number(result.total), name=name, shown=tr.number(shown))
    else:
        intro = tr("choice.several", total=tr.number(result.total), name=name)
    options = [ContactOption.from_match(match) for match in result.matches]
    template = Choice(identifier="", state=search.state, limit=request.limit)
    return render_choice(options, intro, tr, template=template, total=result.total)


def _terminal_text(mrkdwn: str, tr: Translator) -> str:
    return mrkdwn_to_text(mrkdwn, tz=timezone.utc, now=datetime.now(timezone.utc), language=tr.language)


def fetch_message(settings: Settings, query: PageQuery, tr: Translator) -> Message:
    """What `/participations` would answer (page or empty notice); HubSpot errors propagate."""
    client = HubSpotClient.from_settings(settings)
    try:
        page = client.breakdown(query.identifier, state=query.state, limit=query.limit, after=query.after)
        if not page.results:
            return render_empty(query, tr)
        contact = page.contact
        return render_page(page, query, tr, contact_url=contact_url(settings, contact.contact_id if contact else None))
    finally:
        client.close()


def _failure_text(error: HubSpotError, tr: Translator, identifier: str) -> str:
    from bot.render.notices import hubspot_error_text

    text = mrkdwn_to_text(
        hubspot_error_text(error, tr, identifier), tz=timezone.utc, now=datetime.now(timezone.utc), language=tr.language
    )
    if error.correlation_id and not isinstance(error, ContactNotFound):
        text += " " + tr("preview.hubspot_reference", reference=error.correlation_id)
    return text


def _sample_hint(tr: Translator) -> str:
    from bot.sample import sample_identifiers

    contacts = ", ".join(f"{email} ({tr.number(count)})" for email, _, count in sample_identifiers())
    return tr("preview.sample_contacts", contacts=contacts)


def run_preview(
    request: PreviewRequest,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    tz: tzinfo | None = None,
) -> int:
    """Look up, render, print. Raises PreviewError (one line, exit code) on any expected failure."""
    out = out or sys.stdout
    settings = load_settings(environ)
    configure_logging(settings.log_level, settings.log_format)
    tr = Translator(request.language or settings.default_language)
    search = name_to_search(request)
    query = build_query(request, tr) if search is None else None
    with ExitStack() as stack:
        if request.sample:
            from bot.sample import SampleHubSpot

            sample = stack.enter_context(SampleHubSpot())
            settings = sample.settings_for(settings)
            log.debug("sample HubSpot serving on %s", sample.url)
        elif not settings.hubspot_access_token:
            raise PreviewError(tr("preview.no_token"), exit_code=2)
        try:
            if query is None:
                assert search is not None
                message = search_message(settings, search, request, tr)
            else:
                message = fetch_message(settings, query, tr)
        except HubSpotError as exc:
            text = _failure_text(exc, tr, query.identifier if query else search.name if search else "")
            if request.sample and isinstance(exc, ContactNotFound):
                text += f" ({_sample_hint(tr)})"
            raise PreviewError(text) from None
    if request.as_json:
        out.write(json.dumps(message, ensure_ascii=False, indent=2) + "\n")
    else:
        command = PROGRAM + (" --sample" if request.sample else "")
        if request.language:
            command += f" --lang {tr.language}"
        if isinstance(out, io.TextIOWrapper) and (out.encoding or "").lower().replace("-", "") != "utf8":
            out.reconfigure(errors="replace")  # a legacy console shows "?" for an emoji rather than failing
        out.write(render_terminal(message, tz=tz, language=tr.language, command=command))
    out.flush()
    return 0


def preview_main(request: PreviewRequest, environ: Mapping[str, str] | None = None) -> int:
    """CLI wrapper: a clear line on stderr and an exit code, never a traceback."""
    try:
        return run_preview(request, environ=environ)
    except PreviewError as exc:
        print(f"participations-bot preview: {exc}", file=sys.stderr)
        return exc.exit_code
    except ConfigError as exc:
        print(f"participations-bot preview: {exc}", file=sys.stderr)
        return 2
