"""domain/buttons.py: what buttons carry, round trips and forgeries refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.buttons import (
    MAX_BUTTON_VALUE,
    decode_choice,
    decode_contact_query,
    decode_query,
    encode_choice,
    encode_contact_query,
    encode_query,
    fits_in_button,
)
from bot.domain.queries import Choice, ContactQuery, InputError, PageQuery
from bot.hubspot.models import State
from tests.support.strategies import FAST, identifiers, outcome, queries


def test_contact_query_codec_round_trips_and_rejects_forgeries() -> None:
    for query in (ContactQuery("jane+x@example.com"), ContactQuery("12345", State.NO_SHOW)):
        value = encode_contact_query(query)
        assert len(value) <= 2000
        assert decode_contact_query(value) == query
    assert json.loads(encode_contact_query(ContactQuery("12345", State.NO_SHOW))) == {"i": "12345", "s": "NO_SHOW"}
    for forged in ("", "x", "[]", '{"i": 5}', '{"i": "<!channel>"}', '{"i": "12", "s": "MAYBE"}', "{" + "x" * 2001):
        with pytest.raises(InputError):
            decode_contact_query(forged)


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


@FAST
@given(
    st.builds(
        Choice,
        identifier=identifiers,
        state=st.none() | st.sampled_from(list(State)),
        limit=st.integers(min_value=1, max_value=100),
        action=st.sampled_from(["page", "summary"]),
        root=st.none() | st.builds("{}.{:06d}".format, st.integers(1, 10**10), st.integers(0, 999999)),
        label=st.text(max_size=150),
    )
)
def test_choice_codec_round_trips_under_slacks_limit(choice: Choice) -> None:
    value = encode_choice(choice)
    assert len(value) <= MAX_BUTTON_VALUE
    assert decode_choice(value) == choice


@FAST
@given(queries)
def test_button_codec_round_trips(query: PageQuery) -> None:
    value = encode_query(query)
    if fits_in_button(query):
        assert len(value) <= MAX_BUTTON_VALUE
        assert decode_query(value) == query
    else:
        result = outcome(decode_query, value)
        assert isinstance(result, InputError)
        assert result.key == "error.bad_button"


@FAST
@given(
    st.one_of(
        st.text(max_size=300),
        st.dictionaries(
            st.sampled_from(["i", "l", "p", "s", "a", "x"]),
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30), st.lists(st.none())),
        ).map(json.dumps),
    )
)
def test_button_decoding_raises_nothing_but_bad_button(value: str) -> None:
    result = outcome(decode_query, value)
    if isinstance(result, InputError):
        assert result.key == "error.bad_button"
    else:
        assert decode_query(encode_query(result)) == result
        assert 1 <= result.limit <= 100
