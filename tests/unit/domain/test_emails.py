"""domain/emails.py: the emails found in a message (text, links, blocks, legacy attachments), once each."""

from __future__ import annotations

import pytest

from bot.domain.emails import emails_in_message


def test_emails_are_found_in_text_links_and_blocks_once_each() -> None:
    message = {
        "text": "New lead (Jane@Example.com), <mailto:bob@x.io|bob@x.io>; again jane@example.com. &lt;c.d@e.co&gt;",
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "link", "url": "mailto:zed@q.org", "text": "write to Zed"},
                            {"type": "text", "text": " and ann+1@b.com.br!"},
                            {"type": "link", "url": "mailto:BOB@x.io"},
                        ],
                    }
                ],
            }
        ],
    }
    assert emails_in_message(message) == ["Jane@Example.com", "bob@x.io", "c.d@e.co", "zed@q.org", "ann+1@b.com.br"]


def test_emails_in_legacy_attachments_are_found() -> None:
    """Form notifications and lead alerts from other apps often still use attachments with fields."""
    message = {
        "text": "",
        "attachments": [
            {
                "fallback": "New form submission",
                "pretext": "Contact us form",
                "fields": [
                    {"title": "Name", "value": "Ana"},
                    {"title": "Email", "value": "<mailto:ana@x.com|ana@x.com>"},
                ],
            }
        ],
    }
    assert emails_in_message(message) == ["ana@x.com"]


@pytest.mark.parametrize(
    "message",
    [{}, {"text": "no address here, just @here and <@U123> and x@y"}, {"blocks": "junk"}, None, {"text": 5}],
)
def test_messages_without_an_email(message: object) -> None:
    assert emails_in_message(message) == []
