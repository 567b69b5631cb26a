"""domain/buttons.py: what buttons carry, round trips and forgeries refused."""

from __future__ import annotations

import json

import pytest

from bot.domain.buttons import decode_contact_query, encode_contact_query
from bot.domain.queries import ContactQuery, InputError
from bot.hubspot.models import State


def test_contact_query_codec_round_trips_and_rejects_forgeries() -> None:
    for query in (ContactQuery("jane+x@example.com"), ContactQuery("12345", State.NO_SHOW)):
        value = encode_contact_query(query)
        assert len(value) <= 2000
        assert decode_contact_query(value) == query
    assert json.loads(encode_contact_query(ContactQuery("12345", State.NO_SHOW))) == {"i": "12345", "s": "NO_SHOW"}
    for forged in ("", "x", "[]", '{"i": 5}', '{"i": "<!channel>"}', '{"i": "12", "s": "MAYBE"}', "{" + "x" * 2001):
        with pytest.raises(InputError):
            decode_contact_query(forged)
