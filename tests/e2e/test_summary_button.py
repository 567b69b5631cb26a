"""Summary: the numbers on a hand-checked data set, the cap, the view's limits, and the button and command."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.config import Settings
from bot.domain.buttons import decode_contact_query, encode_contact_query
from bot.domain.queries import ContactQuery, InputError
from bot.domain.summary import gather, summarise
from bot.hubspot.models import State, parse_page, parse_participation
from bot.i18n import Translator
from bot.render.blocks import MAX_BLOCKS, NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID, render_summary
from bot.render.used_buttons import mark_button_used
from tests.conftest import Bot
from tests.support.fakes import FakeHubSpot, FakeSlack, Scripted, all_text, find_button, participation
from tests.support.flows import FIRST_TS, button_ids, click, ephemeral, many_records, replaced, run_command


def ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, 12, 0, tzinfo=timezone.utc).timestamp() * 1000)


def record(
    index: int, event_id: str | None, state: str, when: int, pct: Any = None, secs: Any = None
) -> dict[str, Any]:
    raw = participation(index, state=state, occurred_at=when, percentage=pct, duration=secs, name=f"Event {event_id}")
    raw["associations"]["marketingEvent"]["marketingEventId"] = event_id
    if event_id is None:
        raw["associations"]["marketingEvent"]["name"] = "Roadshow"
    return raw


# Hand-checked: 13 records over 7 events.
#   A: REGISTERED, then ATTENDED 80% 3000 s            → attended
#   B: REGISTERED, then NO_SHOW                         → registered, outcome: no-show
#   C: ATTENDED 90% 1800 s + duplicate ATTENDED 60% 1200 s → attended once; per event 90%, 1800 s
#   D: REGISTERED only (upcoming)                       → left out of the show-up rate
#   E: CANCELLED only                                   → left out
#   F: REGISTERED, CANCELLED, then NO_SHOW              → cancelled: left out
#   "Roadshow" (no marketingEventId, grouped by name): REGISTERED, then ATTENDED 100% 600 s → attended
# States: ATTENDED 4, REGISTERED 5, NO_SHOW 2, CANCELLED 2. Show-up rate 3 / 4 = 75 %.
# Average attendance (80 + 90 + 100) / 3 = 90 %. Time attended 3000 + 1800 + 600 = 5400 s = 1h 30m.
# First participation 2025-11-20 (Roadshow registration), most recent 2026-06-01 (F's no-show).
HAND_CHECKED = [
    record(1, "A", "REGISTERED", ms(2026, 1, 10)),
    record(2, "A", "ATTENDED", ms(2026, 1, 15), "80", 3000),
    record(3, "B", "REGISTERED", ms(2026, 2, 1)),
    record(4, "B", "NO_SHOW", ms(2026, 2, 10)),
    record(5, "C", "ATTENDED", ms(2026, 3, 5), "90", 1800),
    record(6, "C", "ATTENDED", ms(2026, 3, 5), "60", 1200),
    record(7, "D", "REGISTERED", ms(2026, 4, 1)),
    record(8, "E", "CANCELLED", ms(2026, 5, 1)),
    record(9, "F", "REGISTERED", ms(2026, 5, 20)),
    record(10, "F", "CANCELLED", ms(2026, 5, 21)),
    record(11, "F", "NO_SHOW", ms(2026, 6, 1)),
    record(12, None, "ATTENDED", ms(2025, 12, 1), "100", 600),
    record(13, None, "REGISTERED", ms(2025, 11, 20)),
]


def test_hand_checked_numbers() -> None:
    summary = summarise([parse_participation(r) for r in HAND_CHECKED])
    assert summary.records == 13
    assert dict(summary.state_counts) == {"ATTENDED": 4, "REGISTERED": 5, "NO_SHOW": 2, "CANCELLED": 2}
    assert [state for state, _ in summary.state_counts] == ["ATTENDED", "REGISTERED", "NO_SHOW", "CANCELLED"]
    assert summary.events == 7
    assert summary.attended_events == 3
    assert summary.events_with_outcome == 4
    assert summary.show_up_rate == pytest.approx(75.0)
    assert summary.average_attendance == pytest.approx(90.0)
    assert summary.events_with_percentage == 3
    assert summary.seconds_attended == 5400
    assert summary.first_at == datetime(2025, 11, 20, 12, 0, tzinfo=timezone.utc)
    assert summary.last_at == datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert summary.contact is not None
    assert summary.contact.contact_id == "101"
    assert not summary.truncated


def test_hand_checked_message_in_both_languages() -> None:
    summary = summarise([parse_participation(r) for r in HAND_CHECKED], total_reported=13)
    en = all_text(render_summary(summary, ContactQuery("jane@example.com"), Translator("en"), cap=1000))
    for expected in (
        "Attendance summary · Jane Doe",
        "75% (3 of 4 events)",
        "90% (over 3 events)",
        "1h 30m",
        "Attended 4",
        "Registered 5",
        "No-show 2",
        "Cancelled 2",
        "*Distinct events*\n7",
        "Show-up rate = events",
    ):
        assert expected in en
    assert "⚠️" not in en
    pt = all_text(render_summary(summary, ContactQuery("jane@example.com"), Translator("pt-BR"), cap=1000))
    for expected in (
        "Resumo de participação · Jane Doe",
        "75% (3 de 4 eventos)",
        "90% (em 3 eventos)",
        "Participou 4",
        "Taxa de comparecimento = eventos",
    ):
        assert expected in pt


def test_no_outcome_and_no_data_are_said_plainly() -> None:
    summary = summarise([parse_participation(record(1, "X", "REGISTERED", ms(2026, 9, 1)))])
    assert summary.show_up_rate is None
    assert summary.average_attendance is None
    text = all_text(render_summary(summary, ContactQuery("jane@example.com"), Translator(), cap=1000))
    assert "no event with an outcome yet" in text
    assert "not reported" in text
    assert "0s" in text  # time attended


def test_filtered_summary_does_not_claim_a_show_up_rate() -> None:
    records = [parse_participation(r) for r in HAND_CHECKED if r["properties"]["attendanceState"] == "ATTENDED"]
    message = render_summary(summarise(records), ContactQuery("jane@example.com", State.ATTENDED), Translator(), cap=10)
    text = all_text(message)
    assert "Attended summary · Jane Doe" in text
    assert "needs every state" in text
    assert "Filter: Attended" in text


def _pages(total: int, page_size: int = 100) -> list[dict[str, Any]]:
    records = many_records(total)
    pages = []
    for offset in range(0, total, page_size):
        body: dict[str, Any] = {"total": total, "results": records[offset : offset + page_size]}
        if offset + page_size < total:
            body["paging"] = {"next": {"after": f"c{offset + page_size}"}}
        pages.append(body)
    return pages


def _iterate(total: int, cap: int) -> list[tuple[Any, list[Any]]]:
    """What HubSpotClient.iter_participations yields, without HTTP."""
    out: list[tuple[Any, list[Any]]] = []
    seen = 0
    for body in _pages(total):
        if seen >= cap:
            break
        page = parse_page(body)
        kept = list(page.results[: cap - seen])
        seen += len(kept)
        out.append((page, kept))
    return out


@pytest.mark.parametrize(
    ("total", "cap", "kept", "truncated"),
    [(250, 120, 120, True), (200, 200, 200, False), (250, 200, 200, True), (90, 1000, 90, False), (0, 10, 0, False)],
)
def test_gather_says_when_the_cap_cut_the_data(total: int, cap: int, kept: int, truncated: bool) -> None:
    pages = _iterate(total, cap) if total else [(parse_page({"total": 0, "results": []}), [])]
    gathered = gather(pages, cap)
    assert len(gathered.records) == kept
    assert gathered.truncated is truncated
    assert gathered.total_reported == total


def test_truncated_summary_says_so() -> None:
    gathered = gather(_iterate(250, 120), 120)
    summary = summarise(gathered.records, total_reported=gathered.total_reported, truncated=gathered.truncated)
    text = all_text(render_summary(summary, ContactQuery("jane@example.com"), Translator(), cap=120))
    assert "first 120 of 250 records" in text
    assert "at most 120" in text


def test_summary_view_respects_slack_limits_and_escapes() -> None:
    evil = parse_participation(
        participation(1, first="<!channel>", last="@here & <#C1>", name="<https://evil.example|click> " + "x" * 5000)
    )
    message = render_summary(
        summarise([evil] * 3, total_reported=3),
        ContactQuery("jane@example.com"),
        Translator(),
        cap=1000,
        contact_url="https://app.hubspot.com/contacts/1/record/0-1/101",
    )
    assert len(message["blocks"]) <= MAX_BLOCKS
    for block in message["blocks"]:
        assert Block.parse(block).to_dict() == block  # raises on section > 3000, header > 150, > 10 fields …
        for text_object in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(text_object, dict) and text_object.get("type") == "mrkdwn":
                assert text_object["verbatim"] is True
    mrkdwn_texts = [message["text"]] + [
        t["text"]
        for block in message["blocks"]
        for t in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if isinstance(t, dict) and t.get("type") == "mrkdwn"
    ]
    joined = "\n".join(mrkdwn_texts)
    assert "<!channel>" not in joined
    assert "<#C1>" not in joined
    assert "<https://evil" not in joined
    assert "&lt;!channel&gt; @here &amp; &lt;#C1&gt;" in joined
    assert message["blocks"][0]["text"]["type"] == "plain_text"  # the header: control sequences do not render


def test_contact_query_codec_round_trips_and_rejects_forgeries() -> None:
    for query in (ContactQuery("jane+x@example.com"), ContactQuery("12345", State.NO_SHOW)):
        value = encode_contact_query(query)
        assert len(value) <= 2000
        assert decode_contact_query(value) == query
    assert json.loads(encode_contact_query(ContactQuery("12345", State.NO_SHOW))) == {"i": "12345", "s": "NO_SHOW"}
    for forged in ("", "x", "[]", '{"i": 5}', '{"i": "<!channel>"}', '{"i": "12", "s": "MAYBE"}', "{" + "x" * 2001):
        with pytest.raises(InputError):
            decode_contact_query(forged)


def test_marking_a_button_done_keeps_the_others_even_at_fifty_blocks() -> None:
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{i}"}} for i in range(47)]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Showing 1–10 of 23"}]})
    blocks.append({"type": "divider"})
    actions = [
        {"type": "button", "action_id": a, "value": "v", "text": {"type": "plain_text", "text": a}}
        for a in (NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID)
    ]
    blocks.append({"type": "actions", "block_id": "participations_actions", "elements": actions})
    assert len(blocks) == MAX_BLOCKS
    rebuilt = mark_button_used(blocks, SUMMARY_ACTION_ID, "done", suffix="summary")
    assert len(rebuilt) == MAX_BLOCKS
    assert button_ids({"blocks": rebuilt}) == [NEXT_ACTION_ID, EXPORT_ACTION_ID]
    assert "done" in all_text({"blocks": rebuilt})
    short = mark_button_used(blocks[-3:], SUMMARY_ACTION_ID, "done", suffix="summary")
    assert [b["type"] for b in short] == ["context", "divider", "context", "actions"]


# -- end to end: real signed requests, loopback HubSpot and Slack ---------------------------------------------


@pytest.fixture
def jane(fake_hubspot: FakeHubSpot) -> FakeHubSpot:
    fake_hubspot.add_contact(HAND_CHECKED, "jane@example.com", "101")
    return fake_hubspot


def test_first_page_carries_summary_and_export_next_to_next(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com limit=5")
    assert button_ids(message) == [NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID]
    for action_id in (SUMMARY_ACTION_ID, EXPORT_ACTION_ID):
        button = find_button(message["blocks"], action_id)
        assert button is not None
        assert json.loads(button["value"]) == {"i": "jane@example.com"}
    filtered = run_command(bot, fake_slack, "jane@example.com attended")
    button = find_button(filtered["blocks"], SUMMARY_ACTION_ID)
    assert button is not None
    assert json.loads(button["value"]) == {"i": "jane@example.com", "s": "ATTENDED"}


def test_summary_button_posts_in_the_thread_then_retires_only_itself(
    bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    message = run_command(bot, fake_slack, "jane@example.com limit=5")
    calls_before = len(jane.calls)
    name, _ = click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    post = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert post["channel"] == "C1"
    assert post["thread_ts"] == FIRST_TS
    text = all_text(post)
    assert "75% (3 of 4 events)" in text
    assert "90% (over 3 events)" in text
    assert "1h 30m" in text
    # One request of 100 read all 13 records, whatever the page's own limit was.
    assert [c.query["limit"] for c in jane.calls[calls_before:]] == ["100"]
    update = replaced(fake_slack, name)
    assert button_ids(update) == [NEXT_ACTION_ID, EXPORT_ACTION_ID]
    assert "The summary is in the thread." in all_text(update)


def test_next_keeps_summary_and_export_on_the_first_page(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com limit=5")
    name, _ = click(bot, fake_slack, message, NEXT_ACTION_ID)
    update = replaced(fake_slack, name)
    assert button_ids(update) == [SUMMARY_ACTION_ID, EXPORT_ACTION_ID]
    assert find_button(update["blocks"], SUMMARY_ACTION_ID) == find_button(message["blocks"], SUMMARY_ACTION_ID)
    page_two = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert button_ids(page_two) == [NEXT_ACTION_ID]  # later pages carry Next only
    # The summary button still works from the updated first page.
    summary_click, _ = click(bot, fake_slack, {**update, "ts": FIRST_TS}, SUMMARY_ACTION_ID)
    fake_slack.wait_for(lambda: len(fake_slack.api_calls("chat.postMessage")) == 2)
    assert button_ids(replaced(fake_slack, summary_click)) == [EXPORT_ACTION_ID]


def test_summary_command_posts_in_channel_with_an_export_button(
    bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    message = run_command(bot, fake_slack, "jane@example.com summary")
    assert message["response_type"] == "in_channel"
    assert "75% (3 of 4 events)" in all_text(message)
    assert button_ids(message) == [EXPORT_ACTION_ID]
    assert all(c.query["limit"] == "100" for c in jane.calls)


def test_summary_reads_every_page_up_to_the_cap(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact(many_records(320), "jane@example.com")
    bot = make_bot(settings.with_overrides(max_export_records=150))
    message = run_command(bot, fake_slack, "jane@example.com summary")
    assert len(fake_hubspot.calls) == 2  # 100 + 50 of the second page; the third is never asked for
    text = all_text(message)
    assert "*Participation records*\n150" in text
    assert "first 150 of 320 records" in text


def test_summary_waits_out_a_rate_limit(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    jane.script(Scripted(429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, {"Retry-After": "2"}))
    message = run_command(bot, fake_slack, "jane@example.com summary")
    assert "75% (3 of 4 events)" in all_text(message)
    assert 2.0 in bot.time.sleeps


def test_summary_button_refuses_a_user_outside_the_allow_list(
    make_bot: Callable[..., Bot], settings: Settings, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bot = make_bot(settings.with_overrides(allowed_user_ids=frozenset({"U1"})))
    message = run_command(bot, fake_slack, "jane@example.com")
    calls = len(jane.calls)
    name, _ = click(bot, fake_slack, message, SUMMARY_ACTION_ID, user="U2")
    assert "not allowed" in ephemeral(fake_slack, name)["text"]
    assert len(jane.calls) == calls
    assert not fake_slack.api_calls("chat.postMessage")


def test_a_second_click_on_summary_posts_nothing_more(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))
    second, _ = click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    assert "already in the thread" in ephemeral(fake_slack, second)["text"]
    assert len(fake_slack.api_calls("chat.postMessage")) == 1


def test_a_failed_summary_can_be_retried(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    message = run_command(bot, fake_slack, "jane@example.com")
    jane.script(*[Scripted(400, {"status": "error", "message": "nope", "category": "VALIDATION_ERROR"})])
    first, _ = click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    assert "rejected the request" in ephemeral(fake_slack, first)["text"]
    click(bot, fake_slack, message, SUMMARY_ACTION_ID)
    post = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert "75% (3 of 4 events)" in all_text(post)


def test_a_forged_summary_button_is_refused(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    response, name = bot.sender.click('{"i":"<!here>"}', message=None, action_id=SUMMARY_ACTION_ID)
    assert response.status_code == 200
    assert "no longer valid" in ephemeral(fake_slack, name)["text"]
    assert not jane.calls


def test_new_texts_exist_in_both_languages_with_the_same_placeholders() -> None:
    from bot.i18n import CATALOGUE, placeholders

    keys = [k for k in CATALOGUE["en"] if k.startswith(("summary.", "export.", "button."))]
    assert len(keys) > 20
    for key in keys:
        assert key in CATALOGUE["pt-BR"], key
        assert placeholders(CATALOGUE["en"][key]) == placeholders(CATALOGUE["pt-BR"][key]), key
