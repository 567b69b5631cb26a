"""The slash-command parser and the Next button's value codec."""

from __future__ import annotations

import json

import pytest

from bot.domain.buttons import decode_choice, decode_query, encode_choice, encode_query
from bot.domain.command import parse_command
from bot.domain.emails import emails_in_message
from bot.domain.queries import Choice, CommandRequest, HelpRequest, InputError, NameSearch, PageQuery
from bot.hubspot.models import State


@pytest.mark.parametrize("text", [None, "", "   ", "help", "HELP", "--help", "?", "\u00a0"])
def test_help(text: str | None) -> None:
    assert isinstance(parse_command(text), HelpRequest)


@pytest.mark.parametrize(
    ("text", "identifier", "state", "limit", "action"),
    [
        ("jane@example.com", "jane@example.com", None, 10, "page"),
        ("  jane@example.com   Attended ", "jane@example.com", State.ATTENDED, 10, "page"),
        ("12345 no-show limit=25", "12345", State.NO_SHOW, 25, "page"),
        ("12345 limit=100 canceled", "12345", State.CANCELLED, 100, "page"),
        ("<mailto:jane@example.com|jane@example.com> noshow", "jane@example.com", State.NO_SHOW, 10, "page"),
        ("jane@example.com summary", "jane@example.com", None, 10, "summary"),
    ],
)
def test_commands(text: str, identifier: str, state: State | None, limit: int, action: str) -> None:
    request = parse_command(text)
    assert isinstance(request, CommandRequest)
    assert request.query == PageQuery(identifier=identifier, state=state, limit=limit)
    assert request.action == action


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("jane@example.com maybe", "command.unknown_state"),
        ("jane@example.com attended registered", "command.too_many_words"),
        ("jane@example.com limit=0", "command.bad_limit"),
        ("jane@example.com limit=101", "command.bad_limit"),
        ("jane@example.com limit=ten", "command.bad_limit"),
        ("<@U123ABC>", "command.user_mention"),
        ("<#C123|general>", "command.bad_identifier"),
        ("not-an-email@", "command.bad_identifier"),
        ("jane@example", "command.bad_identifier"),
        ("🎉 ✨", "command.bad_identifier"),
        (":tada:", "command.bad_identifier"),
        ("Sam <@U123ABC>", "command.user_mention"),
        ("Sam Carter attended registered", "command.too_many_words"),
        ("Sam jane@example.com", "command.too_many_words"),
        ("Sam 12345", "command.too_many_words"),
        ("12345 Sam", "command.unknown_state"),
        ("attended limit=5", "command.no_contact"),
        ("Sam " + "x" * 120, "command.name_too_long"),
        ("../../crm/v3/objects/contacts", "command.bad_identifier"),
        ("x" * 2000, "command.too_long"),
    ],
)
def test_bad_input_names_a_catalogue_key(text: str, key: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_command(text)
    assert caught.value.key == key


def test_button_value_round_trip_is_compact() -> None:
    query = PageQuery("jane+x@example.com", State.NO_SHOW, 25, "opaque/cursor==", 3)
    value = encode_query(query)
    assert decode_query(value) == query
    assert json.loads(value) == {"i": "jane+x@example.com", "s": "NO_SHOW", "l": 25, "a": "opaque/cursor==", "p": 3}
    assert " " not in value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not json",
        "[]",
        '{"i":"jane@example.com"}',
        '{"i":"jane@example.com","l":0,"p":2}',
        '{"i":"jane@example.com","l":10,"p":2,"s":"MAYBE"}',
        '{"i":"../x","l":10,"p":2}',
        '{"i":"jane@example.com","l":true,"p":2}',
        "x" * 2001,
    ],
)
def test_forged_button_values_are_refused(value: str | None) -> None:
    with pytest.raises(InputError) as caught:
        decode_query(value)
    assert caught.value.key == "error.bad_button"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sam Carter", NameSearch("Sam Carter")),
        ("sam carter attended", NameSearch("sam carter", State.ATTENDED)),
        ("attended Sam Carter limit=5", NameSearch("Sam Carter", State.ATTENDED, 5)),
        ("Sam summary Carter", NameSearch("Sam Carter", action="summary")),
        ("José da Silva", NameSearch("José da Silva")),
        ("O'Brien", NameSearch("O'Brien")),
        ("Anne-Marie  Dupont\u00a0no-show", NameSearch("Anne-Marie Dupont", State.NO_SHOW)),
        ("not-an-email", NameSearch("not-an-email")),
        ("山田 太郎", NameSearch("山田 太郎")),
    ],
)
def test_names_are_searched_with_the_options_typed_anywhere(text: str, expected: NameSearch) -> None:
    assert parse_command(text) == expected


def test_an_email_or_id_may_follow_its_options() -> None:
    request = parse_command("attended limit=5 jane@example.com")
    assert isinstance(request, CommandRequest)
    assert request.query == PageQuery("jane@example.com", State.ATTENDED, 5)


def test_choice_value_round_trip_is_compact() -> None:
    choice = Choice("101", State.NO_SHOW, 25, "summary", "1790000001.000100", "Maria Silva · Acme")
    value = encode_choice(choice)
    assert decode_choice(value) == choice
    assert json.loads(value) == {
        "i": "101",
        "s": "NO_SHOW",
        "l": 25,
        "m": "summary",
        "r": "1790000001.000100",
        "w": "Maria Silva · Acme",
    }
    assert decode_choice('{"i":"jane@example.com","l":10}') == Choice("jane@example.com")


@pytest.mark.parametrize(
    "value",
    [
        None,
        '{"i":"Sam Carter","l":10}',  # a name never travels as an identifier
        '{"i":"101","l":0}',
        '{"i":"101","l":10,"m":"delete"}',
        '{"i":"101","l":10,"r":"../1"}',
        '{"i":"101","l":10,"w":7}',
        '{"i":"101","l":10,"w":"' + "x" * 151 + '"}',
    ],
)
def test_forged_choice_values_are_refused(value: str | None) -> None:
    with pytest.raises(InputError) as caught:
        decode_choice(value)
    assert caught.value.key == "error.bad_button"


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
