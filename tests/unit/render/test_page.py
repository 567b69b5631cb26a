"""Views are pure: a parsed page in, a Slack message out."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain.buttons import (
    MAX_BUTTON_VALUE,
    decode_query,
)
from bot.domain.queries import PageQuery
from bot.hubspot.models import State, parse_page
from bot.i18n import LANGUAGES, Translator, duration
from bot.render.blocks import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    NEXT_ACTION_ID,
    displayable,
    escape,
    truncate,
)
from bot.render.page import render_page
from bot.render.used_buttons import mark_button_used
from tests.support.hubspot import participation
from tests.support.slack import all_text, find_button, mrkdwn_objects
from tests.support.strategies import HOSTILE_BITS, VIEWS, queries

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


# -- the page view -------------------------------------------------------------------------------------------


def _long(piece: str, repeat: int) -> str:
    return (piece * repeat)[:1000]


names = st.one_of(
    st.text(max_size=40),
    st.sampled_from(HOSTILE_BITS),
    st.builds(_long, st.text(min_size=1, max_size=8), st.integers(min_value=1, max_value=1000)),
    st.builds(_long, st.sampled_from(HOSTILE_BITS), st.integers(min_value=1, max_value=200)),
)
maybe = st.none() | names
numbers = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
timestamps = st.one_of(
    st.none(),
    st.integers(min_value=-(10**14), max_value=10**14),
    st.sampled_from(["2026-10-09T18:43:59.508Z", "not a date", "", "1791571437115", "9999-12-31T23:59:59Z"]),
    st.floats(allow_nan=True, allow_infinity=True),
)

contacts = st.fixed_dictionaries(
    {},
    optional={"contactId": maybe, "email": maybe, "firstname": maybe, "lastname": maybe},
)
events = st.fixed_dictionaries(
    {},
    optional={"marketingEventId": maybe, "name": maybe, "externalAccountId": maybe, "externalEventId": maybe},
)
participations = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe,
        "createdAt": timestamps,
        "associations": st.one_of(
            st.none(), st.fixed_dictionaries({}, optional={"contact": contacts, "marketingEvent": events})
        ),
        "properties": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "attendanceState": st.none()
                    | st.sampled_from(["ATTENDED", "REGISTERED", "CANCELLED", "NO_SHOW", "EMPTY", "NEW_STATE"])
                    | names,
                    "occurredAt": timestamps,
                    "attendancePercentage": numbers,
                    "attendanceDurationSeconds": numbers,
                },
            ),
        ),
    },
)
pages = st.fixed_dictionaries(
    {"results": st.lists(participations, max_size=100)},
    optional={
        "total": st.integers(min_value=0, max_value=10**9),
        "paging": st.fixed_dictionaries({"next": st.fixed_dictionaries({"after": st.text(min_size=1, max_size=80)})}),
    },
)

# Our own control sequences: Slack dates and the contact link we build. Everything else must be escaped.
_DATE_TOKEN = re.compile(r"<!date\^-?\d+\^[^<>|]*\|[^<>]*>")
_OUR_LINK = re.compile(r"<https://app\.hubspot\.com/contacts/\d+/record/0-1/\d+\|[^<>]*>")
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def _mrkdwn_texts(node: Any) -> list[str]:
    found = mrkdwn_objects(node)
    for obj in found:
        assert obj.get("verbatim") is True
    return [obj["text"] for obj in found]


# A Next button carries page + 1; generated pages stay far below the codec's cap (MAX_PAGE).
view_queries = queries.filter(lambda q: q.page < 1_000_000)


@VIEWS
@given(
    body=pages,
    query=view_queries,
    language=st.sampled_from(LANGUAGES),
    link=st.booleans(),
)
def test_any_page_renders_a_valid_message(body: dict[str, Any], query: PageQuery, language: str, link: bool) -> None:
    check_view(body, query, language, link)


long_names = st.builds(_long, st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(HOSTILE_BITS)), st.just(1000))
full_participations = st.builds(
    lambda name, first, state, when: {
        "id": "1",
        "associations": {
            "contact": {"contactId": "456", "email": "a@b.co", "firstname": first, "lastname": first},
            "marketingEvent": {"marketingEventId": "e", "name": name},
        },
        "properties": {"attendanceState": state, "occurredAt": when, "attendancePercentage": "99.5"},
    },
    long_names,
    long_names,
    st.sampled_from(["ATTENDED", "NO_SHOW", "NEW_STATE"]),
    st.integers(min_value=0, max_value=4 * 10**12),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    results=st.lists(full_participations, min_size=90, max_size=100),
    query=view_queries,
    language=st.sampled_from(LANGUAGES),
)
def test_full_pages_of_1000_character_names_still_fit(
    results: list[dict[str, Any]], query: PageQuery, language: str
) -> None:
    body = {"total": 500, "results": results, "paging": {"next": {"after": "c" * 60}}}
    check_view(body, query, language, link=True)


def check_view(body: dict[str, Any], query: PageQuery, language: str, link: bool) -> None:
    page = parse_page(body)
    url = "https://app.hubspot.com/contacts/123/record/0-1/456" if link else None
    message = render_page(page, query, Translator(language), contact_url=url)
    blocks = message["blocks"]

    assert 1 <= len(blocks) <= MAX_BLOCKS
    assert 0 < len(message["text"]) <= MAX_FALLBACK_TEXT
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises SlackObjectFormationError on a limit slack_sdk knows
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["value"]) <= MAX_BUTTON_VALUE
                assert decode_query(element["value"]).page == query.page + 1

    for text in [message["text"], *_mrkdwn_texts(blocks)]:
        stripped = _OUR_LINK.sub("", _DATE_TOKEN.sub("", text))
        assert "<" not in stripped, text
        assert ">" not in stripped, text
        assert not _BARE_AMPERSAND.search(stripped), text
