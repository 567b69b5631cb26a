"""The slash-command parser and the Next button's value codec."""

from __future__ import annotations

import json

import pytest

from bot.hubspot.models import State
from bot.parsing import (
    CommandRequest,
    HelpRequest,
    InputError,
    PageQuery,
    decode_query,
    encode_query,
    parse_command,
)


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
        ("not-an-email", "command.bad_identifier"),
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
