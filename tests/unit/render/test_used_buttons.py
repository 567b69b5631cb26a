"""render/used_buttons.py: a used button goes, the content and the other buttons stay, at any size, idempotently."""

from __future__ import annotations

from typing import Any

from bot.render.blocks import MAX_BLOCKS, NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from bot.render.used_buttons import mark_button_used
from tests.support.flows import button_ids
from tests.support.slack import all_text


def test_applying_an_edit_twice_changes_nothing() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}},
        {"type": "actions", "elements": [{"type": "button", "action_id": "a", "text": {}, "value": "1"}]},
    ]
    once = mark_button_used(blocks, "a", "done", suffix="a")
    assert mark_button_used(once, "a", "done", suffix="a") == once


def test_a_used_button_goes_and_the_others_stay_even_at_fifty_blocks() -> None:
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
