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
import re
import shlex
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, TextIO

from bot.blocks import NEXT_ACTION_ID, Message, escape, render_empty, render_page
from bot.config import ConfigError, Settings, load_settings
from bot.hubspot.client import HubSpotClient
from bot.hubspot.errors import ContactNotFound, HubSpotError, MissingScopes
from bot.hubspot.models import State
from bot.logging_setup import configure_logging
from bot.messages import Translator
from bot.parsing import (
    DEFAULT_LIMIT,
    MAX_CHOICES,
    Choice,
    InputError,
    NameSearch,
    PageQuery,
    clean_identifier,
    decode_choice,
    decode_query,
    parse_command,
    parse_state,
)
from bot.views_choice import CHOOSE_ACTION_ID, ContactOption, render_choice

log = logging.getLogger(__name__)

PROGRAM = "participations-bot preview"
RULE = "─" * 60

# -- Block Kit → terminal text (pure) -----------------------------------------------------------------

_TOKEN = re.compile(r"<([^<>]*)>")
_DATE_TOKEN = re.compile(r"^!date\^(-?\d+)\^([^^|]*)(?:\^[^|]*)?(?:\|(.*))?$", re.DOTALL)
_DATE_FIELD = re.compile(
    r"\{(date_num|date_short_pretty|date_long_pretty|date_pretty|date_short|date_long|date|"
    r"time_secs|time|ago)\}"
)

_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "pt-BR": (
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ),
}
_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "pt-BR": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
}
_RELATIVE_DAYS = {"en": ("Yesterday", "Today", "Tomorrow"), "pt-BR": ("Ontem", "Hoje", "Amanhã")}


def unescape(text: str) -> str:
    """Inverse of `bot.blocks.escape`: `&amp;` last, so `&amp;lt;` stays the literal `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


_AGO_UNITS = (
    (365 * 86400, "year", "ano", "anos"),
    (30 * 86400, "month", "mês", "meses"),
    (86400, "day", "dia", "dias"),
    (3600, "hour", "hora", "horas"),
    (60, "minute", "minuto", "minutos"),
)


def _ago(moment: datetime, now: datetime, language: str) -> str:
    seconds = int((now - moment).total_seconds())
    future, span = seconds < 0, abs(seconds)
    unit = next((u for u in _AGO_UNITS if span >= u[0]), None)
    if unit is None:
        return "agora" if language == "pt-BR" else "just now"
    unit_seconds, en, pt_one, pt_many = unit
    count = span // unit_seconds
    if language == "pt-BR":
        word = pt_one if count == 1 else pt_many
        return f"em {count} {word}" if future else f"há {count} {word}"
    word = en if count == 1 else en + "s"
    return f"in {count} {word}" if future else f"{count} {word} ago"


def format_slack_date(seconds: int, template: str, *, tz: tzinfo | None, now: datetime, language: str) -> str:
    """What a Slack client shows for `<!date^seconds^template|…>` to a reader in `tz`."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone(tz)
    today = now.astimezone(moment.tzinfo).date()
    language = language if language in _MONTHS else "en"
    month = _MONTHS[language][moment.month - 1]
    weekday = _WEEKDAYS[language][moment.weekday()]
    if language == "pt-BR":
        long_date = f"{moment.day} de {month} de {moment.year}"
        short_date = f"{moment.day} de {month[:3]}. de {moment.year}"
        clock, clock_secs = f"{moment:%H:%M}", f"{moment:%H:%M:%S}"
    else:
        long_date = f"{month} {_ordinal(moment.day)}, {moment.year}"
        short_date = f"{month[:3]} {moment.day}, {moment.year}"
        hour = moment.hour % 12 or 12
        meridiem = "AM" if moment.hour < 12 else "PM"
        clock, clock_secs = f"{hour}:{moment:%M} {meridiem}", f"{hour}:{moment:%M:%S} {meridiem}"
    relative = None
    offset_days = (moment.date() - today).days
    if -1 <= offset_days <= 1:
        relative = _RELATIVE_DAYS[language][offset_days + 1]
    values = {
        "date_num": moment.date().isoformat(),
        "date": long_date,
        "date_short": short_date,
        "date_long": f"{weekday}, {long_date}",
        "date_pretty": relative or long_date,
        "date_short_pretty": relative or short_date,
        "date_long_pretty": relative or f"{weekday}, {long_date}",
        "time": clock,
        "time_secs": clock_secs,
        "ago": _ago(moment, now, language),
    }
    return _DATE_FIELD.sub(lambda match: values[match.group(1)], template)


def mrkdwn_to_text(text: str, *, tz: tzinfo | None, now: datetime, language: str) -> str:
    """Slack mrkdwn → what a reader sees: control sequences resolved, then entities unescaped."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        date = _DATE_TOKEN.match(inner)
        if date:
            try:
                return format_slack_date(int(date.group(1)), date.group(2), tz=tz, now=now, language=language)
            except (OverflowError, OSError, ValueError):
                return date.group(3) or ""
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        return f"{label} ({target})" if label and label != target else target

    return unescape(_TOKEN.sub(token, text))


def _plain(obj: Any, *, tz: tzinfo | None, now: datetime, language: str) -> str:
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, tz=tz, now=now, language=language)
    return text


def next_page_command(query: PageQuery, command: str) -> str:
    """The command line that shows the page a Next button carries."""
    words = [command, shlex.quote(query.identifier)]
    if query.state is not None:
        words.append(query.state.value.lower())
    if query.limit != DEFAULT_LIMIT:
        words.append(f"--limit {query.limit}")
    if query.after:
        words.append(f"--after {shlex.quote(query.after)}")
    words.append(f"--page {query.page}")
    return " ".join(words)


def _button_line(element: Mapping[str, Any], command: str | None) -> str:
    label = f"[ {_plain(element.get('text'), tz=timezone.utc, now=datetime.now(timezone.utc), language='en')} ]"
    if element.get("action_id") == CHOOSE_ACTION_ID and command:
        try:
            choice = decode_choice(element.get("value"))
        except InputError:
            return label
        return f"{label}  →  {next_page_command(choice.query, command).removesuffix(' --page 1')}"
    if element.get("action_id") != NEXT_ACTION_ID:
        return label
    try:
        query = decode_query(element.get("value"))
    except InputError:
        return label
    if command:
        return f"{label}  →  {next_page_command(query, command)}"
    return f"{label}  --after {shlex.quote(query.after or '')} --page {query.page}"


def zone_label(tz: tzinfo | None, now: datetime) -> str:
    local = now.astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    name = local.tzname() or ""
    utc_offset = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    if not name or name == utc_offset or (name == "UTC" and minutes == 0):
        return name or utc_offset
    return f"{name} ({utc_offset})"


def render_terminal(
    message: Message,
    *,
    tz: tzinfo | None = None,
    now: datetime | None = None,
    language: str = "en",
    command: str | None = None,
) -> str:
    """Block Kit message → terminal text. `tz=None` means the machine's local time zone.

    `command` (e.g. `participations-bot preview --sample`) turns the Next button into the full command line that
    shows the next page.
    """
    now = now or datetime.now(timezone.utc)
    lines: list[str] = []
    dates_seen = False

    def plain(obj: Any) -> str:
        nonlocal dates_seen
        if isinstance(obj, Mapping) and "<!date^" in str(obj.get("text", "")):
            dates_seen = True
        return _plain(obj, tz=tz, now=now, language=language)

    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            title = plain(block.get("text"))
            lines += [title, "═" * min(max(len(title), 3), len(RULE))]
        elif kind == "section":
            parts = [plain(block.get("text"))] if block.get("text") else []
            parts += [plain(field) for field in block.get("fields") or []]
            if lines and lines[-1] != RULE and not lines[-1].startswith("═"):  # a blank line between sections
                lines.append("")
            lines.append("\n".join(part for part in parts if part))
            if isinstance(block.get("accessory"), Mapping) and block["accessory"].get("type") == "button":
                lines.append(_button_line(block["accessory"], command))
        elif kind == "divider":
            lines.append(RULE)
        elif kind == "context":
            texts = [plain(element) for element in block.get("elements") or []]
            lines += [RULE, "  ".join(text for text in texts if text)]
        elif kind == "actions":
            lines += [_button_line(element, command) for element in block.get("elements") or []]
    if not lines:
        lines.append(plain({"type": "mrkdwn", "text": str(message.get("text", ""))}))
    if dates_seen:
        lines.append(Translator(language)("preview.local_time_zone", zone=zone_label(tz, now)))
    return "\n".join(lines) + "\n"


# -- the command --------------------------------------------------------------------------------------


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
    from bot.services import build_services

    client = HubSpotClient.from_settings(settings)
    try:
        services = build_services(settings, hubspot=client)
        page = client.breakdown(query.identifier, state=query.state, limit=query.limit, after=query.after)
        if not page.results:
            return render_empty(query, tr)
        contact = page.contact
        return render_page(page, query, tr, contact_url=services.contact_url(contact.contact_id if contact else None))
    finally:
        client.close()


def _failure_text(error: HubSpotError, tr: Translator, identifier: str) -> str:
    from bot.listeners.common import hubspot_error_text

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
