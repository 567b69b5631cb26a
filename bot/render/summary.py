"""Views for the attendance summary and the CSV export's comment. Pure functions, like bot/render/page.py.

Summary layout: header → contact line (linked to HubSpot when configured) → counts per state → fields (records,
events, show-up rate, average attendance, time attended, first and most recent dates) → context (how the
show-up rate is defined; a warning when the record cap cut the data) → optional actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.buttons import encode_contact_query
from bot.domain.queries import ContactQuery, PageQuery
from bot.domain.summary import Gathered, Summary
from bot.i18n import Translator, duration
from bot.render.blocks import (
    MAX_SECTION_TEXT,
    Block,
    Message,
    button,
    escape,
    footer,
    message,
    mrkdwn,
    section,
    truncate,
)
from bot.render.page import contact_header, contact_who, slack_date, state_marker, titled

SUMMARY_ACTION_ID = "participations_summary"
EXPORT_ACTION_ID = "participations_export"


def summary_button(query: ContactQuery, tr: Translator) -> dict[str, Any]:
    return button(tr("button.summary"), SUMMARY_ACTION_ID, encode_contact_query(query))


def export_button(query: ContactQuery, tr: Translator) -> dict[str, Any]:
    return button(tr("button.export"), EXPORT_ACTION_ID, encode_contact_query(query))


def first_page_buttons(query: PageQuery | ContactQuery, tr: Translator) -> list[dict[str, Any]]:
    """Summary and Export CSV, for render_page's `extra_buttons` on the first page (they sit after Next)."""
    target = ContactQuery(identifier=query.identifier, state=query.state)
    return [summary_button(target, tr), export_button(target, tr)]


def _state_counts(summary: Summary, tr: Translator) -> str:
    counts = [
        tr("summary.state_count", state=f"{state_marker(state)} {escape(tr.state(state))}", count=tr.number(count))
        for state, count in summary.state_counts
    ]
    return tr("summary.by_state", counts=" · ".join(counts))


def _fields(summary: Summary, query: ContactQuery, tr: Translator) -> list[dict[str, Any]]:
    fields = [
        tr("summary.field_records", records=tr.number(summary.records)),
        tr("summary.field_events", events=tr.number(summary.events)),
    ]
    rate = summary.show_up_rate
    if query.state is not None:
        fields.append(tr("summary.field_show_up_filtered"))
    elif rate is None:
        fields.append(tr("summary.field_show_up_none"))
    else:
        fields.append(
            tr(
                "summary.field_show_up",
                rate=tr.percent(round(rate, 1)),
                attended=tr.number(summary.attended_events),
                events=tr.number(summary.events_with_outcome),
            )
        )
    if summary.average_attendance is None:
        fields.append(tr("summary.field_average_none"))
    else:
        fields.append(
            tr(
                "summary.field_average",
                percent=tr.percent(round(summary.average_attendance, 1)),
                events=tr.number(summary.events_with_percentage),
            )
        )
    fields.append(tr("summary.field_time", duration=duration(summary.seconds_attended)))
    if summary.first_at is not None and summary.last_at is not None:
        fields.append(tr("summary.field_first", date=slack_date(summary.first_at, tr)))
        fields.append(tr("summary.field_last", date=slack_date(summary.last_at, tr)))
    return [mrkdwn(text) for text in fields]  # ≤ 7 fields, each far below 2000 characters


def render_summary(
    summary: Summary,
    query: ContactQuery,
    tr: Translator,
    *,
    cap: int,
    contact_url: str | None = None,
    buttons: Sequence[dict[str, Any]] = (),
) -> Message:
    """The summary as a complete message (`text` + ≤ 7 blocks)."""
    contact = summary.contact
    who, title = titled(("summary.header", "summary.header_state"), contact, query, tr)
    page_query = PageQuery(identifier=query.identifier, state=query.state)
    about = contact_header(contact, page_query, summary.total_reported, tr, contact_url)
    blocks: list[Block] = [
        title,
        section(truncate(about, MAX_SECTION_TEXT), block_id="summary-contact"),
        section(truncate(_state_counts(summary, tr), MAX_SECTION_TEXT), block_id="summary-states"),
        {"type": "section", "block_id": "summary-figures", "fields": _fields(summary, query, tr)},
    ]
    notes = [tr("summary.definition")]
    if summary.truncated:
        notes.insert(
            0,
            tr(
                "summary.truncated",
                count=tr.number(summary.records),
                total=tr.number(summary.total_reported),
                cap=tr.number(cap),
            ),
        )
    blocks.extend(footer("\n".join(notes), "summary-notes", buttons))
    fallback = tr(
        "summary.fallback",
        who=escape(truncate(who, 200)),
        records=tr.number(summary.records),
        events=tr.number(summary.events),
    )
    return message(fallback, blocks)


def export_comment(gathered: Gathered, query: ContactQuery, tr: Translator, *, cap: int) -> str:
    """The `initial_comment` of the uploaded CSV (escaped: it is message text)."""
    who = escape(truncate(contact_who(gathered.contact, query.identifier), 200))
    records = tr.number(len(gathered.records))
    text = tr.for_state(
        query.state.value if query.state else None, "export.comment", "export.comment_state", records=records, who=who
    )
    if gathered.truncated:
        total = tr.number(gathered.total_reported)
        text += "\n" + tr("export.truncated", count=records, total=total, cap=tr.number(cap))
    return text
