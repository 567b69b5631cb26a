"""Hypothesis strategies and settings the property tests share: contacts as typed, page queries, hostile text."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.domain.queries import InputError, PageQuery
from bot.hubspot.models import State

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


# -- contacts as a user types them ----------------------------------------------------------------------------

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


queries = st.builds(
    PageQuery,
    identifier=identifiers,
    state=st.none() | st.sampled_from(list(State)),
    limit=st.integers(min_value=1, max_value=100),
    after=st.none() | st.text(min_size=1, max_size=300),
    page=st.integers(min_value=1, max_value=1_000_000),
)
