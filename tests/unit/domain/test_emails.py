"""domain/emails.py: the emails found in a message (text, links, blocks, legacy attachments), once each."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.emails import emails_in_message
from tests.support.strategies import (
    FAST,
    emails,
)


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


# -- email addresses in a message ----------------------------------------------------------------------------

_email_forms = st.sampled_from(
    ["{}", "<mailto:{}|{}>", "<mailto:{}>", "({})", "{}.", "{},", "&lt;{}&gt;", '"{}"', "'{}'"]
)


@FAST
@given(
    addresses=st.lists(st.tuples(emails, _email_forms, st.booleans()), min_size=0, max_size=8),
    separators=st.lists(st.sampled_from([" ", ", ", "\n", "; ", " and ", " — "]), min_size=8, max_size=8),
    in_blocks=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_emails_in_a_message_are_each_found_once_in_order(
    addresses: list[tuple[str, str, bool]], separators: list[str], in_blocks: list[bool]
) -> None:
    text_parts: list[str] = []
    elements: list[dict[str, Any]] = []
    expected: list[str] = []
    for index, (address, form, shout) in enumerate(addresses):
        spelled = address.upper() if shout else address
        if in_blocks[index]:
            elements.append({"type": "link", "url": f"mailto:{spelled}", "text": "write"})
        else:
            text_parts.append(form.replace("{}", spelled) + separators[index])
    order = [a for i, a in enumerate(addresses) if not in_blocks[i]] + [
        a for i, a in enumerate(addresses) if in_blocks[i]
    ]
    for address, _, shout in order:
        if address.lower() not in [e.lower() for e in expected]:
            expected.append(address.upper() if shout else address)
    message = {
        "text": "Lead alert: " + "".join(text_parts),
        "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}],
    }
    assert emails_in_message(message) == expected


@FAST
@given(
    st.recursive(
        st.none() | st.text(max_size=40) | st.integers(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(["text", "url", "elements", "blocks", "type"]), inner, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_email_extraction_survives_any_shape(message: Any) -> None:
    for email in emails_in_message(message):
        assert "@" in email and len(email) <= 254
