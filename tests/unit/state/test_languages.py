"""LanguageCache contract: the same tests against memory, a real Redis, and Redis behind the failover wrapper."""

from __future__ import annotations

import time

from bot.state.memory import MemoryLanguageCache
from tests.support.state_impls import kind, namespaced_keys_all_expire, pair

__all__ = ["kind"]


def test_a_language_put_by_one_process_is_read_by_the_other(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.languages)
    assert here.get("U1") is None
    here.put("U1", "pt-BR")
    assert there.get("U1") == "pt-BR"
    there.put("U1", "en")
    assert there.get("U1") == "en"


def test_a_language_expires(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.languages, language_ttl=0.3)
    here.put("U1", "pt-BR")
    assert there.get("U1") == "pt-BR"
    time.sleep(0.45)
    assert here.get("U1") is None
    assert there.get("U1") is None


def test_redis_language_keys_expire(redis_url: str) -> None:
    here, _ = pair("redis", redis_url, lambda state: state.languages)
    here.put("U1", "pt-BR")
    assert [key.split(":")[1] for key in namespaced_keys_all_expire(redis_url)] == ["language"]


def test_memory_languages_are_bounded_by_size() -> None:
    cache = MemoryLanguageCache(ttl=3600, max_items=50)
    for index in range(500):
        cache.put(f"U{index}", "en")
    assert len(cache) == 50
    assert cache.get("U499") == "en" and cache.get("U0") is None
