"""ClickClaims contract: the same tests against memory, a real Redis, and Redis behind the failover wrapper."""

from __future__ import annotations

import time

from bot.state.memory import MemoryClickClaims
from tests.support.state_impls import all_at_once, kind, namespaced_keys_all_expire, pair

__all__ = ["kind"]


def test_the_first_claim_wins_everywhere_until_released(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.clicks)
    assert here.claim('["C1", "1.1", "next", "cursor"]')
    assert not here.claim('["C1", "1.1", "next", "cursor"]')
    assert not there.claim('["C1", "1.1", "next", "cursor"]')  # the other process sees the claim
    assert there.claim('["C1", "1.1", "next", "other"]')  # another key is free
    here.release('["C1", "1.1", "next", "cursor"]')
    assert there.claim('["C1", "1.1", "next", "cursor"]')


def test_a_claim_expires(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.clicks, click_ttl=0.3)
    assert here.claim("k")
    assert not there.claim("k")
    time.sleep(0.45)
    assert there.claim("k")


def test_of_many_simultaneous_claims_exactly_one_wins(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.clicks)
    wins = all_at_once(16, lambda i: (here if i % 2 else there).claim("same"))
    assert sorted(wins) == [False] * 15 + [True]


def test_redis_keys_are_namespaced_hashed_and_expire(redis_url: str) -> None:
    here, _ = pair("redis", redis_url, lambda state: state.clicks)
    here.claim('["C1", "1.1", "next", "a-very-long-cursor' + "x" * 500 + '"]')
    keys = namespaced_keys_all_expire(redis_url)
    assert len(keys) == 1 and keys[0].startswith("participations-bot:click:") and len(keys[0]) < 80


def test_memory_claims_are_bounded_by_size_as_well_as_age() -> None:
    claims = MemoryClickClaims(ttl=600, max_items=100)
    for index in range(1000):
        assert claims.claim(f"burst-{index}")
    assert len(claims) == 100
    assert not claims.claim("burst-999")  # the newest are kept
