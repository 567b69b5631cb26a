"""Email addresses in a Slack message (text, `<mailto:…>` links, blocks, attachments): the message shortcut's input."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.queries import MAX_IDENTIFIER_LENGTH, InputError, clean_identifier, visible

_MAILTO_LINK = re.compile(r"<mailto:([^|>\s]+)(?:\|[^>]*)?>", re.IGNORECASE)
# Running text is cut into words at spaces and the punctuation that surrounds addresses in prose and markup;
# a word that is an address once its edges are trimmed counts. (A search through the whole text could backtrack
# quadratically on a crafted message; words keep it linear.)
_WORD_BREAKS = re.compile(r"[\s<>()\[\]{},;:\"!?|*`]+")
_WORD_EDGES = ".'’_~"
_ADDRESS = re.compile(r"[A-Za-z0-9_%+-][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MAX_SCANNED_TEXT = 40_000  # a message holds at most ~40k characters; blocks are walked up to this much text


def emails_in_message(message: Any) -> list[str]:
    """Every distinct email address a Slack message mentions, in order of appearance (case-insensitively
    distinct): in `text` (plain or as `<mailto:…|…>` links), in its blocks (rich_text `link` elements with a
    `mailto:` url, and any text) and in legacy attachments (text, fields). Each one passes `clean_identifier`, like
    a typed one."""
    texts: list[str] = []
    if isinstance(message, dict):
        if isinstance(message.get("text"), str):
            texts.append(message["text"])
        _collect_block_texts(message.get("blocks"), texts, depth=0)
        _collect_block_texts(message.get("attachments"), texts, depth=0)  # lead alerts and form notifications
    found: list[str] = []
    seen: set[str] = set()
    budget = MAX_SCANNED_TEXT
    for text in texts:
        text = visible(text[:budget])
        budget -= len(text)
        for candidate in _emails_in_text(text):
            try:
                email = clean_identifier(candidate)
            except InputError:
                continue
            if "@" in email and email.lower() not in seen:
                seen.add(email.lower())
                found.append(email)
        if budget <= 0:
            break
    return found


def _emails_in_text(text: str) -> list[str]:
    """Mailto links first where they stand, then plain addresses (unescaped from Slack's `&lt;…&gt;`)."""
    found: list[str] = []
    position = 0
    for link in _MAILTO_LINK.finditer(text):
        found += _plain_emails(text[position : link.start()])
        found.append(link.group(1))
        position = link.end()
    found += _plain_emails(text[position:])
    return found


def _plain_emails(text: str) -> list[str]:
    unescaped = text.replace("&lt;", " ").replace("&gt;", " ").replace("&amp;", " ")
    words = (word.strip(_WORD_EDGES) for word in _WORD_BREAKS.split(unescaped) if "@" in word)
    return [word for word in words if len(word) <= MAX_IDENTIFIER_LENGTH and _ADDRESS.fullmatch(word)]


# Where a block or a legacy attachment keeps what a reader sees (attachment fields hold theirs in `value`).
_TEXT_KEYS = frozenset({"text", "value", "title", "pretext", "fallback"})


def _collect_block_texts(node: Any, texts: list[str], depth: int) -> None:
    if depth > 12:  # rich_text nests a few levels; anything deeper is not a message Slack sent
        return
    if isinstance(node, list):
        for item in node[:200]:
            _collect_block_texts(item, texts, depth + 1)
    elif isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and url.lower().startswith("mailto:"):
            texts.append(f"<{url}>")
        texts.extend(value for key, value in node.items() if key in _TEXT_KEYS and isinstance(value, str))
        for key, value in node.items():
            if key != "url" and isinstance(value, (list, dict)):
                _collect_block_texts(value, texts, depth + 1)
