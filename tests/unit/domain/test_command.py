"""domain/command.py: the slash-command parser (help, contacts, states, limits, names, bad input)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.command import HELP_WORDS, STATE_ALIASES, parse_command
from bot.domain.queries import CommandRequest, HelpRequest, InputError, NameSearch, PageQuery
from bot.hubspot.models import State
from tests.support.strategies import FAST, HOSTILE_BITS, identifiers, outcome, spaces


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


@FAST
@given(st.text(max_size=1200))
def test_parser_raises_nothing_but_input_error(text: str) -> None:
    result = outcome(parse_command, text)
    if isinstance(result, InputError):
        assert result.key.startswith(("command.", "error."))
    else:
        assert isinstance(result, (HelpRequest, CommandRequest, NameSearch))


@FAST
@given(
    st.lists(
        st.one_of(st.sampled_from([*HOSTILE_BITS, "<mailto:a@b.co|a@b.co>", "limit=", "summary", "help"]), st.text()),
        max_size=6,
    ).map(" ".join)
)
def test_parser_survives_slack_markup_and_odd_words(text: str) -> None:
    result = outcome(parse_command, text)
    assert isinstance(result, (InputError, HelpRequest, CommandRequest, NameSearch))


@FAST
@given(
    identifier=identifiers,
    wrap_mailto=st.booleans(),
    state=st.none() | st.sampled_from(sorted(STATE_ALIASES)),
    upper=st.booleans(),
    limit=st.none() | st.integers(min_value=1, max_value=100),
    order=st.randoms(use_true_random=False),
    gap=spaces,
)
def test_parser_round_trips_what_a_user_can_type(
    identifier: str,
    wrap_mailto: bool,
    state: str | None,
    upper: bool,
    limit: int | None,
    order: Any,
    gap: str,
) -> None:
    first = f"<mailto:{identifier}|{identifier}>" if wrap_mailto and "@" in identifier else identifier
    options: list[str] = []
    if state is not None:
        options.append(state.upper() if upper else state)
    if limit is not None:
        options.append(f"limit={limit}")
    order.shuffle(options)
    text = gap + gap.join([first, *options]) + gap
    result = parse_command(text)
    assert isinstance(result, CommandRequest)
    expected = PageQuery(
        identifier=identifier,
        state=STATE_ALIASES[state] if state is not None else None,
        limit=limit if limit is not None else 10,
    )
    assert result.query == expected
    assert result.action == "page"


_name_alphabet = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéãçöøñÉЖжαβ山田λ0123456789'’.-")
)
name_words = (
    st.tuples(st.sampled_from(list("abcdefghijklmnopqrstuvwxyzÁÉÖŁЖ山")), st.lists(_name_alphabet, max_size=11))
    .map(lambda parts: parts[0] + "".join(parts[1]))
    .filter(lambda word: word.lower() not in STATE_ALIASES and word.lower() not in HELP_WORDS | {"summary"})
)


@FAST
@given(
    name=st.lists(name_words, min_size=1, max_size=4),
    state=st.none() | st.sampled_from(sorted(STATE_ALIASES)),
    limit=st.none() | st.integers(min_value=1, max_value=100),
    summary=st.booleans(),
    order=st.randoms(use_true_random=False),
    gap=spaces,
)
def test_names_mixed_with_options_in_any_order(
    name: list[str], state: str | None, limit: int | None, summary: bool, order: Any, gap: str
) -> None:
    """The options are picked out wherever they stand; the other words, in order, are the name."""
    options = [word for word in (state, f"limit={limit}" if limit else None, "summary" if summary else None) if word]
    words: list[str] = list(name)
    for option in options:  # options go anywhere, the name's words keep their order
        words.insert(order.randint(0, len(words)), option)
    if words[0].lower() in HELP_WORDS:
        return
    result = parse_command(gap.join(words))
    assert result == NameSearch(
        name=" ".join(name),
        state=STATE_ALIASES[state] if state else None,
        limit=limit or 10,
        action="summary" if summary else "page",
    )


@FAST
@given(st.text(max_size=200))
def test_a_name_search_never_carries_what_could_reach_the_breakdown_path(text: str) -> None:
    """Whatever is typed: an identifier is an email or digits; a name has letters and no markup, slash or `@`."""
    result = outcome(parse_command, text)
    if isinstance(result, NameSearch):
        assert any(char.isalpha() for char in result.name)
        assert not set(result.name) & set("<>@/|=\\`*_~:")
        assert len(result.name) <= 100
    elif isinstance(result, CommandRequest):
        assert "@" in result.query.identifier or result.query.identifier.isdigit()
