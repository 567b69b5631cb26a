"""Contact search at the client level: the request HubSpot sees, its own 5-per-second window, 403 and 429."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.hubspot.client import HubSpotClient, RetryPolicy
from bot.hubspot.errors import SEARCH_SCOPE, MissingScopes, RateLimited, UnexpectedResponse
from bot.hubspot.models import parse_search
from bot.hubspot.pacing import JITTER_ALLOWANCE, RateGovernor
from bot.sample.server import SEARCH_PATH
from tests.conftest import VirtualTime
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.tokens import HUBSPOT_TOKEN


@pytest.fixture
def silvas(fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.add_searchable("201", "maria.silva@example.com", "Maria", "Silva", "Acme")
    fake_hubspot.add_searchable("202", "joao.silva@example.com", "João", "Silva", None)
    fake_hubspot.add_searchable("203", "sam@example.com", "Sam", "Carter", "Initech")


def test_the_search_request_is_what_hubspot_documents(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, silvas: None
) -> None:
    result = make_client().search_contacts("sam carter", limit=5)
    assert result.total == 1
    (match,) = result.matches
    assert (match.contact_id, match.email, match.full_name, match.company) == (
        "203",
        "sam@example.com",
        "Sam Carter",
        "Initech",
    )
    (call,) = fake_hubspot.search_calls()
    assert call.raw_path == SEARCH_PATH  # derived from HUBSPOT_API_BASE (its trailing slash ignored)
    assert call.headers["Authorization"] == f"Bearer {HUBSPOT_TOKEN}"
    assert call.headers["Content-Type"] == "application/json"
    assert call.body == {"query": "sam carter", "properties": ["email", "firstname", "lastname", "company"], "limit": 5}


def test_several_matches_report_the_total_beyond_the_limit(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    for index in range(8):
        fake_hubspot.add_searchable(str(300 + index), f"s{index}@example.com", "Ana", f"Silva{index}")
    result = make_client().search_contacts("silva", limit=5)
    assert result.total == 8
    assert [m.contact_id for m in result.matches] == ["300", "301", "302", "303", "304"]


def test_missing_scope_names_the_search_scope(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.search_forbidden = True
    with pytest.raises(MissingScopes) as caught:
        make_client().search_contacts("sam")
    assert caught.value.required_scopes == (SEARCH_SCOPE,)
    assert len(fake_hubspot.search_calls()) == 1  # never retried


def test_a_403_that_names_no_scope_still_names_the_search_scope(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.script(Scripted(403, {"status": "error", "category": "MISSING_SCOPES"}))
    with pytest.raises(MissingScopes) as caught:
        make_client().search_contacts("sam")
    assert caught.value.required_scopes == (SEARCH_SCOPE,)


def test_search_is_paced_at_five_per_second_and_never_meets_hubspots_429(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, vtime: VirtualTime, silvas: None
) -> None:
    client = make_client()
    started = vtime.clock()
    for _ in range(12):
        assert client.search_contacts("silva").total == 2
    assert fake_hubspot.search_limited_count == 0
    assert 2.0 <= vtime.clock() - started < 3.0  # 12 searches: 5 now, 5 a second later, 2 a second after that


def test_a_secondly_limit_429_without_headers_waits_for_the_one_second_window(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, vtime: VirtualTime, silvas: None
) -> None:
    """Another process on the account spent the window: HubSpot says so without any rate-limit header."""
    message = "You have reached your secondly limit."
    busy = Scripted(429, {"status": "error", "message": message, "errorType": "RATE_LIMIT"})
    fake_hubspot.script(busy, busy)
    result = make_client().search_contacts("silva")
    assert result.total == 2
    assert vtime.sleeps and all(0.2 <= s <= 1.0 for s in vtime.sleeps)


def test_persistent_429_gives_up_inside_the_budget(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    busy = Scripted(429, {"status": "error", "message": "You have reached your secondly limit."})
    fake_hubspot.script(*[busy] * 10)
    with pytest.raises(RateLimited):
        make_client(retry=RetryPolicy(max_attempts=3)).search_contacts("silva")


def test_search_never_starves_breakdown_lookups(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, vtime: VirtualTime, silvas: None
) -> None:
    """A burst of searches fills search's own window; a breakdown lookup right after it does not wait."""
    fake_hubspot.add_contact([participation(1)], "jane@example.com")
    client = make_client()
    for _ in range(5):
        client.search_contacts("silva")
    before = vtime.clock()
    assert client.breakdown("jane@example.com").total == 1
    assert vtime.clock() == before
    assert client.search_governor is not client.governor


def test_the_search_window_is_an_injected_object(
    make_client: Callable[..., HubSpotClient], vtime: VirtualTime, silvas: None
) -> None:
    """Whatever shares it (another process's state) is passed in; the client only acquires, pauses, observes."""
    shared = RateGovernor(1, window_seconds=1.0, clock=vtime.clock, sleep=vtime.sleep, reserve=0)
    first, second = make_client(search_governor=shared), make_client(search_governor=shared)
    before = vtime.clock()
    first.search_contacts("silva")
    second.search_contacts("silva")
    assert vtime.clock() - before == pytest.approx(1.0 + JITTER_ALLOWANCE)  # one window (paced with its margin)


@pytest.mark.parametrize(
    "body",
    [[], {"results": "nope"}, "text"],
)
def test_a_malformed_search_answer_is_unexpected(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, body: Any
) -> None:
    fake_hubspot.script(Scripted(200, body))
    with pytest.raises(UnexpectedResponse):
        make_client().search_contacts("sam")


def test_results_without_a_usable_id_are_dropped_and_fields_are_optional() -> None:
    result = parse_search(
        {
            "total": 3,
            "results": [
                {"id": "../x", "properties": {"email": "a@b.co"}},
                {"properties": {}},
                {"id": "77", "properties": {"email": None, "firstname": "  ", "lastname": "Solo", "company": 3}},
                "junk",
            ],
        }
    )
    assert result.total == 3
    (match,) = result.matches
    assert (match.contact_id, match.email, match.full_name, match.company) == ("77", None, "Solo", "3")
