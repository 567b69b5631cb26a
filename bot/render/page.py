"""A page of participations as Block Kit: pure functions from parsed HubSpot data to a Slack message.

Layout: header → contact header → one entry per participation → context (position) → actions (Next).
Every string from HubSpot goes through `escape` (render/blocks.py). Slack's limits hold for any page of up to 100
results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.buttons import encode_query, fits_in_button
from bot.domain.queries import ContactQuery, PageQuery
from bot.hubspot.models import BreakdownPage, Contact, Participation
from bot.i18n import Translator, duration
from bot.render.blocks import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    NEXT_ACTION_ID,
    Block,
    Message,
    button,
    escape,
    footer,
    header,
    message,
    section,
    truncate,
)

# Event names are shown whole up to the first limit; on big pages we shorten step by step, never below 40.
NAME_LIMITS = (200, 120, 80, 40)

STATE_MARKERS = {
    "ATTENDED": "✅",
    "REGISTERED": "📝",
    "CANCELLED": "❌",
    "NO_SHOW": "🚫",
    "EMPTY": "⚪",
}
UNKNOWN_STATE_MARKER = "❔"


def slack_date(moment: datetime, tr: Translator) -> str:
    """`<!date^…>` renders in each reader's own time zone; the fallback is UTC text."""
    seconds = int(moment.timestamp())
    return f"<!date^{seconds}^{tr('page.date_format')}|{escape(tr.date_fallback(moment))}>"


def contact_who(contact: Contact | None, identifier: str) -> str:
    """Plain (unescaped) label for the contact: name, else email, else what the user typed."""
    if contact is not None:
        return contact.full_name or contact.email or identifier
    return identifier


def state_marker(state: str | None) -> str:
    return STATE_MARKERS.get(state or "EMPTY", UNKNOWN_STATE_MARKER)


def entry_text(participation: Participation, tr: Translator, name_limit: int = NAME_LIMITS[0]) -> str:
    event_name = participation.event.name or tr("page.unnamed_event")
    title = escape(truncate(event_name, name_limit))
    details = [escape(tr.state(participation.state))]
    if participation.occurred_at is not None:
        details.append(slack_date(participation.occurred_at, tr))
    else:
        details.append(tr("page.no_date"))
    if participation.attendance_percentage is not None:
        details.append(tr("page.attendance", percent=tr.percent(participation.attendance_percentage)))
    if participation.attendance_duration_seconds is not None:
        details.append(duration(participation.attendance_duration_seconds))
    return f"{state_marker(participation.state)} *{title}*\n" + " · ".join(details)


def pack_entries(entries: Sequence[str], max_sections: int) -> list[str] | None:
    """Greedy packing of entries into section texts; None if they cannot fit in `max_sections`."""
    if not entries:
        return []
    per_section = max(1, math.ceil(len(entries) / max_sections))
    sections: list[str] = []
    current: list[str] = []
    for entry in entries:
        candidate = "\n\n".join([*current, entry])
        if current and (len(current) >= per_section or len(candidate) > MAX_SECTION_TEXT):
            sections.append("\n\n".join(current))
            current = [entry]
        else:
            current.append(entry)
    sections.append("\n\n".join(current))
    if len(sections) > max_sections or any(len(text) > MAX_SECTION_TEXT for text in sections):
        return None
    return sections


def titled(
    keys: tuple[str, str], contact: Contact | None, query: PageQuery | ContactQuery, tr: Translator
) -> tuple[str, Block]:
    """Who the message is about (plain), and its header: `keys` are the texts without and with a state asked."""
    who = contact_who(contact, query.identifier)
    state = query.state.value if query.state is not None else None
    return who, header(tr.for_state(state, *keys, who=truncate(who, 100)))


def contact_header(contact: Contact | None, query: PageQuery, total: int, tr: Translator, url: str | None) -> str:
    lines: list[str] = []
    if contact is not None and (contact.full_name or contact.email):
        name = escape(truncate(contact.full_name or contact.email or "", 200))
        if url:
            name = f"<{url}|{name}>"
        if contact.full_name and contact.email:
            lines.append(tr("page.contact_line", name=name, email=escape(truncate(contact.email, 254))))
        else:
            lines.append(tr("page.contact_line_no_name", email=name))
    else:
        lines.append(tr("page.contact_line_no_name", email=escape(query.identifier)))
    facts = [tr("page.total_one") if total == 1 else tr("page.total", total=tr.number(total))]
    if contact is not None and contact.contact_id:
        facts.append(tr("page.contact_id", contact_id=escape(truncate(contact.contact_id, 40))))
    if query.state is not None:
        facts.append(tr("page.filter", state=tr.state(query.state.value)))
    lines.append(" · ".join(facts))
    return "\n".join(lines)


def next_query(page: BreakdownPage, query: PageQuery) -> PageQuery | None:
    if not page.next_after or not page.results:
        return None
    return PageQuery(
        identifier=query.identifier, state=query.state, limit=query.limit, after=page.next_after, page=query.page + 1
    )


def render_page(
    page: BreakdownPage,
    query: PageQuery,
    tr: Translator,
    *,
    contact_url: str | None = None,
    extra_buttons: Sequence[dict[str, Any]] = (),
) -> Message:
    """A page of results as a complete message (`text` + `blocks`)."""
    contact = page.contact
    who, title = titled(("page.header", "page.header_state"), contact, query, tr)
    blocks: list[Block] = [
        title,
        section(contact_header(contact, query, page.total, tr, contact_url), block_id=f"summary-{query.page}"),
        {"type": "divider"},
    ]
    start = query.first_index
    end = start + len(page.results) - 1
    position = tr("page.showing", start=tr.number(start), end=tr.number(max(start, end)), total=tr.number(page.total))
    following = next_query(page, query)
    buttons = list(extra_buttons)
    notes = [position] if query.page == 1 else [tr("page.page_number", page=tr.number(query.page)), position]
    if following is not None:
        if fits_in_button(following):
            buttons.insert(0, button(tr("button.next"), NEXT_ACTION_ID, encode_query(following), style="primary"))
        else:
            notes.append(tr("page.more_in_hubspot"))
    tail = footer(" · ".join(notes), f"position-{query.page}", buttons)

    room = MAX_BLOCKS - len(blocks) - len(tail)
    sections: list[str] | None = None
    for name_limit in NAME_LIMITS:
        sections = pack_entries([entry_text(p, tr, name_limit) for p in page.results], room)
        if sections is not None:
            break
    if sections is None:  # unreachable for ≤ 100 results; keep the message valid regardless
        sections = [truncate("\n".join(entry_text(p, tr, 40) for p in page.results), MAX_SECTION_TEXT)]
    blocks.extend(section(text, block_id=f"entries-{query.page}-{index}") for index, text in enumerate(sections))
    blocks.extend(tail)

    fallback = tr(
        "page.fallback",
        who=escape(truncate(who, 200)),
        total=tr.number(page.total),
        start=tr.number(start),
        end=tr.number(max(start, end)),
    )
    return message(fallback, blocks)


def render_empty(query: PageQuery, tr: Translator, who: str | None = None) -> Message:
    """`who`: how the user knows the contact when that is not what was looked up (a name they searched for)."""
    identifier = escape(who or query.identifier)
    text = tr.for_state(
        query.state.value if query.state else None, "page.empty", "page.empty_state", identifier=identifier
    )
    return {"text": text, "blocks": [section(text)]}
