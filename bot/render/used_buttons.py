"""Used buttons: once a button has done its job it leaves the message, and a note says where its result went."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.blocks import ACTIONS_BLOCK_ID, MAX_BLOCKS, Block, context, mrkdwn


def mark_button_used(blocks: Sequence[Block], action_id: str, note: str, *, suffix: str) -> list[Block]:
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
