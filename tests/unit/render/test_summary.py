"""render/summary.py: the summary in both languages, its limits and escaping."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.queries import ContactQuery
from bot.domain.summary import gather, summarise
from bot.hubspot.models import State, parse_participation
from bot.i18n import Translator
from bot.render.blocks import MAX_BLOCKS
from bot.render.summary import render_summary
from tests.support.hand_checked import HAND_CHECKED, ms, pages_up_to, record
from tests.support.hubspot import participation
from tests.support.slack import all_text

HAND_CHECKED_TEXTS = {
    "en": (
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
    ),
    "pt-BR": (
        "Resumo de participação · Jane Doe",
        "75% (3 de 4 eventos)",
        "90% (em 3 eventos)",
        "Participou 4",
        "Taxa de comparecimento = eventos",
    ),
}


@pytest.mark.parametrize("language", HAND_CHECKED_TEXTS)
def test_hand_checked_message_in_both_languages(language: str) -> None:
    summary = summarise([parse_participation(r) for r in HAND_CHECKED], total_reported=13)
    text = all_text(render_summary(summary, ContactQuery("jane@example.com"), Translator(language), cap=1000))
    for expected in HAND_CHECKED_TEXTS[language]:
        assert expected in text
    assert "⚠️" not in text  # nothing was cut


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


def test_truncated_summary_says_so() -> None:
    gathered = gather(pages_up_to(250, 120), 120)
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
