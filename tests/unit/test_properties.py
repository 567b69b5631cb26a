"""Property-based tests: the command parser, the button codec, and the page view for any HubSpot page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain.buttons import (
    MAX_BUTTON_VALUE,
    decode_choice,
    decode_query,
    encode_choice,
    encode_query,
    fits_in_button,
)
from bot.domain.command import HELP_WORDS, STATE_ALIASES, parse_command
from bot.domain.emails import emails_in_message
from bot.domain.queries import Choice, CommandRequest, HelpRequest, InputError, NameSearch, PageQuery
from bot.hubspot.models import State, parse_page
from bot.i18n import LANGUAGES, Translator
from bot.render.blocks import MAX_BLOCKS, MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from bot.render.page import render_page
from tests.support.slack import mrkdwn_objects

T = TypeVar("T")
FAST = settings(max_examples=150, deadline=None)
VIEWS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE_BITS = ["<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C123>", "<http://evil|click>", "@here", "&amp;"]


def outcome(function: Callable[[str], T], value: str) -> T | InputError:
    """The result, or the InputError raised; any other exception fails the test."""
    try:
        return function(value)
    except InputError as error:
        return error


# -- the command parser --------------------------------------------------------------------------------------

_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
emails = st.builds(
    lambda local, extra, domain, tld: f"{local}{extra}@{domain}.{tld}",
    _atom,
    st.sampled_from(["", ".x", "+tag", "_a", "-b", "%c"]),
    _atom,
    st.sampled_from(["com", "org", "com.br", "io"]),
)
contact_ids = st.integers(min_value=0, max_value=10**20 - 1).map(str)
identifiers = st.one_of(emails, contact_ids)
spaces = st.sampled_from([" ", "  ", "\t", " \u00a0 ", "\n"])


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


# -- the button codec ----------------------------------------------------------------------------------------

queries = st.builds(
    PageQuery,
    identifier=identifiers,
    state=st.none() | st.sampled_from(list(State)),
    limit=st.integers(min_value=1, max_value=100),
    after=st.none() | st.text(min_size=1, max_size=300),
    page=st.integers(min_value=1, max_value=1_000_000),
)


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


# -- the page view -------------------------------------------------------------------------------------------


def _long(piece: str, repeat: int) -> str:
    return (piece * repeat)[:1000]


names = st.one_of(
    st.text(max_size=40),
    st.sampled_from(HOSTILE_BITS),
    st.builds(_long, st.text(min_size=1, max_size=8), st.integers(min_value=1, max_value=1000)),
    st.builds(_long, st.sampled_from(HOSTILE_BITS), st.integers(min_value=1, max_value=200)),
)
maybe = st.none() | names
numbers = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
timestamps = st.one_of(
    st.none(),
    st.integers(min_value=-(10**14), max_value=10**14),
    st.sampled_from(["2026-10-09T18:43:59.508Z", "not a date", "", "1791571437115", "9999-12-31T23:59:59Z"]),
    st.floats(allow_nan=True, allow_infinity=True),
)

contacts = st.fixed_dictionaries(
    {},
    optional={"contactId": maybe, "email": maybe, "firstname": maybe, "lastname": maybe},
)
events = st.fixed_dictionaries(
    {},
    optional={"marketingEventId": maybe, "name": maybe, "externalAccountId": maybe, "externalEventId": maybe},
)
participations = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe,
        "createdAt": timestamps,
        "associations": st.one_of(
            st.none(), st.fixed_dictionaries({}, optional={"contact": contacts, "marketingEvent": events})
        ),
        "properties": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "attendanceState": st.none()
                    | st.sampled_from(["ATTENDED", "REGISTERED", "CANCELLED", "NO_SHOW", "EMPTY", "NEW_STATE"])
                    | names,
                    "occurredAt": timestamps,
                    "attendancePercentage": numbers,
                    "attendanceDurationSeconds": numbers,
                },
            ),
        ),
    },
)
pages = st.fixed_dictionaries(
    {"results": st.lists(participations, max_size=100)},
    optional={
        "total": st.integers(min_value=0, max_value=10**9),
        "paging": st.fixed_dictionaries({"next": st.fixed_dictionaries({"after": st.text(min_size=1, max_size=80)})}),
    },
)

# Our own control sequences: Slack dates and the contact link we build. Everything else must be escaped.
_DATE_TOKEN = re.compile(r"<!date\^-?\d+\^[^<>|]*\|[^<>]*>")
_OUR_LINK = re.compile(r"<https://app\.hubspot\.com/contacts/\d+/record/0-1/\d+\|[^<>]*>")
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def _mrkdwn_texts(node: Any) -> list[str]:
    found = mrkdwn_objects(node)
    for obj in found:
        assert obj.get("verbatim") is True
    return [obj["text"] for obj in found]


# A Next button carries page + 1; generated pages stay far below the codec's cap (MAX_PAGE).
view_queries = queries.filter(lambda q: q.page < 1_000_000)


@VIEWS
@given(
    body=pages,
    query=view_queries,
    language=st.sampled_from(LANGUAGES),
    link=st.booleans(),
)
def test_any_page_renders_a_valid_message(body: dict[str, Any], query: PageQuery, language: str, link: bool) -> None:
    check_view(body, query, language, link)


long_names = st.builds(_long, st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(HOSTILE_BITS)), st.just(1000))
full_participations = st.builds(
    lambda name, first, state, when: {
        "id": "1",
        "associations": {
            "contact": {"contactId": "456", "email": "a@b.co", "firstname": first, "lastname": first},
            "marketingEvent": {"marketingEventId": "e", "name": name},
        },
        "properties": {"attendanceState": state, "occurredAt": when, "attendancePercentage": "99.5"},
    },
    long_names,
    long_names,
    st.sampled_from(["ATTENDED", "NO_SHOW", "NEW_STATE"]),
    st.integers(min_value=0, max_value=4 * 10**12),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    results=st.lists(full_participations, min_size=90, max_size=100),
    query=view_queries,
    language=st.sampled_from(LANGUAGES),
)
def test_full_pages_of_1000_character_names_still_fit(
    results: list[dict[str, Any]], query: PageQuery, language: str
) -> None:
    body = {"total": 500, "results": results, "paging": {"next": {"after": "c" * 60}}}
    check_view(body, query, language, link=True)


def check_view(body: dict[str, Any], query: PageQuery, language: str, link: bool) -> None:
    page = parse_page(body)
    url = "https://app.hubspot.com/contacts/123/record/0-1/456" if link else None
    message = render_page(page, query, Translator(language), contact_url=url)
    blocks = message["blocks"]

    assert 1 <= len(blocks) <= MAX_BLOCKS
    assert 0 < len(message["text"]) <= MAX_FALLBACK_TEXT
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises SlackObjectFormationError on a limit slack_sdk knows
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["value"]) <= MAX_BUTTON_VALUE
                assert decode_query(element["value"]).page == query.page + 1

    for text in [message["text"], *_mrkdwn_texts(blocks)]:
        stripped = _OUR_LINK.sub("", _DATE_TOKEN.sub("", text))
        assert "<" not in stripped, text
        assert ">" not in stripped, text
        assert not _BARE_AMPERSAND.search(stripped), text
