"""Views are pure: a parsed page in, a Slack message out."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain.buttons import decode_query
from bot.domain.queries import PageQuery
from bot.hubspot.models import State, parse_page
from bot.i18n import Translator, duration
from bot.render.blocks import MAX_FALLBACK_TEXT, NEXT_ACTION_ID, displayable, escape, truncate
from bot.render.page import render_page
from bot.render.used_buttons import mark_button_used
from tests.support.hubspot import participation
from tests.support.slack import all_text, find_button

EN = Translator("en")


def page_of(records: list[dict], total: int | None = None, after: str | None = None):  # type: ignore[no-untyped-def]
    body: dict = {"total": total if total is not None else len(records), "results": records}
    if after:
        body["paging"] = {"next": {"after": after}}
    return parse_page(body)


def test_escape_order_and_scope() -> None:
    assert escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"
    assert escape("*bold* _it_ @here #c") == "*bold* _it_ @here #c"


def test_truncate_keeps_short_text_and_marks_cuts() -> None:
    assert truncate("short", 40) == "short"
    cut = truncate("x" * 300, 200)
    assert len(cut) == 200 and cut.endswith("…")


def test_duration_formats() -> None:
    assert duration(3900) == "1h 05m"
    assert duration(3120) == "52m"
    assert duration(45) == "45s"


def test_missing_fields_never_show_none() -> None:
    bare = {"id": "1", "associations": {}, "properties": {"attendanceState": None, "occurredAt": None}}
    message = render_page(page_of([bare]), PageQuery("jane@example.com"), EN)
    text = all_text(message)
    assert "None" not in text and "null" not in text
    assert "(unnamed event)" in text and "date unknown" in text and "No state" in text
    assert "jane@example.com" in text  # the contact is unknown: show what the user typed


def test_states_have_distinct_markers_and_unknown_states_survive() -> None:
    states = ["REGISTERED", "ATTENDED", "CANCELLED", "NO_SHOW", "EMPTY", "WAITLISTED"]
    records = [participation(i, state=s) for i, s in enumerate(states)]
    text = all_text(render_page(page_of(records), PageQuery("jane@example.com"), EN))
    for marker in ("📝 ", "✅ ", "❌ ", "🚫 ", "⚪ ", "❔ "):
        assert marker in text
    assert "WAITLISTED" in text


def test_iso_occurred_at_is_accepted() -> None:
    record = participation(1, occurred_at="2026-03-05T14:30:00Z")
    text = all_text(render_page(page_of([record]), PageQuery("jane@example.com"), EN))
    seconds = int(datetime(2026, 3, 5, 14, 30, tzinfo=timezone.utc).timestamp())
    assert f"<!date^{seconds}^" in text and "|Mar 5, 2026 14:30 UTC>" in text


def test_position_and_next_button_carry_state_limit_and_page() -> None:
    records = [participation(i) for i in range(5)]
    query = PageQuery("12345", State.ATTENDED, 5, after="c1", page=3)
    message = render_page(page_of(records, total=40, after="c2"), query, EN)
    assert "Showing 11–15 of 40" in all_text(message)
    button = find_button(message["blocks"])
    assert button is not None
    assert decode_query(button["value"]) == PageQuery("12345", State.ATTENDED, 5, "c2", 4)


def test_a_cursor_too_long_for_a_button_is_said_not_dropped() -> None:
    message = render_page(page_of([participation(1)], total=5, after="c" * 2100), PageQuery("1"), EN)
    assert find_button(message["blocks"]) is None
    assert "cursor is too long" in all_text(message)


def test_every_block_of_a_hundred_long_entries_is_valid() -> None:
    records = [participation(i, name="&<>" * 400, first="Ü" * 300, last="&" * 300) for i in range(100)]
    message = render_page(page_of(records, total=1000, after="next"), PageQuery("jane@example.com", limit=100), EN)
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).to_dict()
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert len(message["text"]) <= MAX_FALLBACK_TEXT


def test_portuguese_rendering() -> None:
    pt = Translator("pt-BR")
    records = [participation(i, percentage="87.5") for i in range(3)]
    message = render_page(page_of(records, total=1234, after="c"), PageQuery("1", State.ATTENDED), pt)
    text = all_text(message)
    assert "Mostrando 1–3 de 1.234" in text
    assert "87,5% de presença" in text
    assert "Participou" in text
    assert "|09/10/2026 18:43 UTC>" in text
    button = find_button(message["blocks"])
    assert button is not None and button["text"]["text"] == "Próxima página"


def test_notes_on_a_full_message_are_not_repeated_when_edits_are_replayed() -> None:
    """At the 50-block cap notes join a context block; replaying earlier edits must not add them again."""
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": f"entry {i}"}} for i in range(48)]
    footer = {"type": "context", "block_id": "position-1", "elements": [{"type": "mrkdwn", "text": "Showing 1–100"}]}
    buttons = [
        {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": action_id}, "value": "x"}
        for action_id in (NEXT_ACTION_ID, "other", "third")
    ]
    page = {"blocks": [*sections, footer, {"type": "actions", "block_id": "actions", "elements": buttons}]}
    assert len(page["blocks"]) == 50
    edits = [
        (NEXT_ACTION_ID, "Page 2 is in the thread.", "2"),
        ("other", "Other is done.", "other"),
        ("third", "Third is done.", "third"),
    ]
    message = page["blocks"]
    for done in range(1, len(edits) + 1):  # each retirement replays every edit so far on the current message
        for action_id, note, suffix in edits[:done]:
            message = mark_button_used(message, action_id, note, suffix=suffix)
    text = all_text({"blocks": message})
    assert text.count("Page 2 is in the thread.") == 1
    assert text.count("Other is done.") == 1
    assert text.count("Third is done.") == 1
    assert len(message) <= 50
    ids = [b["block_id"] for b in message if "block_id" in b]
    assert len(ids) == len(set(ids))
    for block in message:
        Block.parse(block).to_dict()


@given(st.text())
def test_relayed_text_is_one_line_without_control_or_bidi_characters(raw: str) -> None:
    shown = displayable(raw)
    assert len(shown.splitlines()) <= 1
    assert not any(unicodedata.category(char) in {"Cc", "Cf"} for char in shown)
    assert escape(raw) == shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_names_with_newlines_and_bidi_controls_render_as_one_plain_line() -> None:
    record = participation(1, first="Jane\nEvil", name="Webinar\r\nDay 2\u202e\u2066 txt.exe\u2069\x1b[2J")
    page = parse_page({"results": [record], "total": 1})
    message = render_page(page, PageQuery(identifier="jane@example.com"), Translator("en"))
    text = all_text(message)
    assert "Webinar Day 2 txt.exe[2J" in text
    assert "Jane Evil" in message["blocks"][0]["text"]["text"]  # the plain_text header
    assert not any(char in text for char in "\u202e\u2066\u2069\x1b\r")


def test_mark_button_used_keeps_content_and_other_buttons() -> None:
    records = [participation(i) for i in range(3)]
    other = {"type": "button", "action_id": "other", "text": {"type": "plain_text", "text": "Other"}, "value": "x"}
    message = render_page(page_of(records, total=9, after="c"), PageQuery("1"), EN, extra_buttons=[other])
    rebuilt = mark_button_used(message["blocks"], NEXT_ACTION_ID, EN("page.posted_in_thread", page=2), suffix="2")
    assert find_button(rebuilt) is None
    assert find_button(rebuilt, "other") is not None
    assert "Page 2 is in the thread" in all_text({"blocks": rebuilt})
    assert all_text({"blocks": message["blocks"][:-1]}) in all_text({"blocks": rebuilt})
    ids = [b.get("block_id") for b in rebuilt if b.get("block_id")]
    assert len(ids) == len(set(ids))
