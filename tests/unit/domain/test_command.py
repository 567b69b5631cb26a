"""domain/command.py: the slash-command parser (help, contacts, states, limits, names, bad input)."""

from __future__ import annotations

import pytest

from bot.domain.command import parse_command
from bot.domain.queries import CommandRequest, HelpRequest, InputError, NameSearch, PageQuery
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
