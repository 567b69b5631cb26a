"""Block Kit → terminal text, for `preview`: Slack's mrkdwn and `<!date^…>` tokens resolved as a reader sees them,
buttons shown as the command that does what they do. Pure."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from bot.domain.buttons import decode_choice, decode_query
from bot.domain.queries import DEFAULT_LIMIT, InputError, PageQuery
from bot.i18n import Translator
from bot.render.blocks import NEXT_ACTION_ID, Message
from bot.render.choice import CHOOSE_ACTION_ID

RULE = "─" * 60

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
    """Inverse of `bot.render.blocks.escape`: `&amp;` last, so `&amp;lt;` stays the literal `&lt;`."""
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
