"""Block Kit building blocks, and the one way relayed text is made safe to show. Pure.

Every string from HubSpot is made displayable (one line, no control or bidi characters), escaped for mrkdwn and
carried in `verbatim` text objects, so an event called `<!channel> @here Webinar` pings no one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]
Message = dict[str, Any]

# How a private answer goes through a response_url: only the user sees it, and the message it answers stays.
EPHEMERAL = {"response_type": "ephemeral", "replace_original": False}

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 3000
NEXT_ACTION_ID = "participations_next"
ACTIONS_BLOCK_ID = "participations_actions"


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


def actions(buttons: Sequence[dict[str, Any]]) -> Block:
    """A message's one actions block (≤ 25 buttons): its id is how a click finds the button to take away."""
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": list(buttons[:25])}


def footer(text: str, block_id: str, buttons: Sequence[dict[str, Any]]) -> list[Block]:
    """A message's last blocks: a context line, then the actions block when there are buttons."""
    blocks = [context(text, block_id=block_id)]
    if buttons:
        blocks.append(actions(buttons))
    return blocks


def message(fallback: str, blocks: list[Block]) -> Message:
    """A complete message: the notification/screen-reader `text` fallback and the blocks."""
    return {"text": truncate(fallback, MAX_FALLBACK_TEXT), "blocks": blocks}


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
