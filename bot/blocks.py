"""Views: pure functions from parsed HubSpot data to Slack messages (Block Kit). No I/O here.

Layout: header → contact summary → one entry per participation → context (position) → actions (Next).
Every string from HubSpot is made displayable (one line, no control or bidi characters), escaped for mrkdwn and
carried in `verbatim` text objects, so an event called `<!channel> @here Webinar` pings no one. Slack's limits
hold for any page of up to 100 results.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.hubspot.models import BreakdownPage, Contact, Participation
from bot.messages import Translator, duration
from bot.parsing import PageQuery, encode_query, fits_in_button

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 3000
NEXT_ACTION_ID = "participations_next"
ACTIONS_BLOCK_ID = "participations_actions"
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


_BREAKS = re.compile("\r\n|[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")
_HIDDEN = frozenset({"Cc", "Cf"})


def displayable(text: str) -> str:
    """Text from HubSpot as one line a reader can trust.

    Line breaks become spaces; control and format characters (Unicode Cc/Cf: ESC, bidi overrides such as U+202E
    and U+2066, zero-width marks) are removed, so a name can neither add a line nor reverse the text after it.
    """
    if text.isprintable():  # nearly every name: no work
        return text
    text = _BREAKS.sub(" ", text)
    return "".join(char for char in text if unicodedata.category(char) not in _HIDDEN)


def escape(text: str) -> str:
    """Relayed text for mrkdwn: `displayable`, then Slack's escaping (`&` first, then `<` and `>`)."""
    return displayable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object that never auto-links `@here`, `#channel` or URLs in relayed data."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "context", "elements": [mrkdwn(text)]}
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(displayable(text), MAX_HEADER_TEXT)}}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": truncate(displayable(text), 75)},
        "value": value,
    }
    if style:
        element["style"] = style
    return element


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


def contact_summary(contact: Contact | None, query: PageQuery, total: int, tr: Translator, url: str | None) -> str:
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
    who = contact_who(contact, query.identifier)
    head_key = "page.header_state" if query.state is not None else "page.header"
    state_label = tr.state(query.state.value) if query.state is not None else ""
    blocks: list[Block] = [
        header(tr(head_key, who=truncate(who, 100), state=state_label)),
        section(contact_summary(contact, query, page.total, tr, contact_url), block_id=f"summary-{query.page}"),
        {"type": "divider"},
    ]
    start = query.first_index
    end = start + len(page.results) - 1
    position = tr("page.showing", start=tr.number(start), end=tr.number(max(start, end)), total=tr.number(page.total))
    following = next_query(page, query)
    buttons = list(extra_buttons)
    footer = [position] if query.page == 1 else [tr("page.page_number", page=tr.number(query.page)), position]
    if following is not None:
        if fits_in_button(following):
            buttons.insert(0, button(tr("button.next"), NEXT_ACTION_ID, encode_query(following), style="primary"))
        else:
            footer.append(tr("page.more_in_hubspot"))
    tail: list[Block] = [context(" · ".join(footer), block_id=f"position-{query.page}")]
    if buttons:
        tail.append({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons[:25]})

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
    return {"text": truncate(fallback, MAX_FALLBACK_TEXT), "blocks": blocks}


def render_empty(query: PageQuery, tr: Translator, who: str | None = None) -> Message:
    """`who`: how the user knows the contact when that is not what was looked up (a name they searched for)."""
    identifier = escape(who or query.identifier)
    if query.state is not None:
        text = tr("page.empty_state", state=tr.state(query.state.value), identifier=identifier)
    else:
        text = tr("page.empty", identifier=identifier)
    return {"text": text, "blocks": [section(text)]}


def render_usage(tr: Translator) -> Message:
    return {
        "text": tr("usage.fallback"),
        "blocks": [header(tr("usage.title")), section(tr("usage.body"))],
    }


def render_notice(text: str, tr: Translator, reference: str | None = None) -> Message:
    """An error or refusal, with a reference an admin can find in the logs."""
    blocks: list[Block] = [section(text)]
    if reference:
        blocks.append(context(tr("error.reference", reference=escape(reference))))
        fallback = f"{text} ({tr('error.reference', reference=escape(reference))})"
    else:
        fallback = text
    return {"text": fallback, "blocks": blocks}


def mark_action_done(blocks: Sequence[Block], action_id: str, note: str, *, suffix: str) -> list[Block]:
    """Drop only the button `action_id` (other buttons stay) and add `note` (mrkdwn) just above the buttons.

    Changed blocks get new ids ending in `suffix`. At Slack's 50-block cap the note joins the nearest context
    block instead of adding one, so the remaining buttons are never cut off. Applying the same edit again (to a
    message that already shows it) changes nothing.
    """
    rebuilt: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            elements = [e for e in block.get("elements", []) if e.get("action_id") != action_id]
            if elements:
                rebuilt.append({**block, "elements": elements, "block_id": f"{ACTIONS_BLOCK_ID}-{suffix}"})
            continue
        rebuilt.append(dict(block))
    if any(_shows(block, note) for block in rebuilt):
        return rebuilt
    insert_at = next((i for i, b in enumerate(rebuilt) if b.get("type") == "actions"), len(rebuilt))
    if len(rebuilt) < MAX_BLOCKS:
        rebuilt.insert(insert_at, context(note, block_id=f"posted-{suffix}"))
        return rebuilt
    for index in range(insert_at - 1, -1, -1):
        block = rebuilt[index]
        if block.get("type") == "context" and len(block.get("elements", [])) < 10:
            elements = [*block.get("elements", []), mrkdwn(note)]
            rebuilt[index] = {**block, "elements": elements, "block_id": f"{block.get('block_id', 'notes')}-{suffix}"}
            break
    return rebuilt[:MAX_BLOCKS]


def _shows(block: Block, note: str) -> bool:
    return block.get("type") == "context" and any(e.get("text") == note for e in block.get("elements", []))
