"""Build each state implementation for the contract tests: in memory, in a real Redis, and Redis behind failover.

`pair` gives two handles on one store: the same object in memory (one process), two clients on one Redis (two
processes), so the contract tests also show that Redis is shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import redis

from bot.state.failover import FailoverState
from bot.state.memory import MemoryState
from bot.state.redis import RedisState, connect

KINDS = ["memory", "redis", "failover"]
T = TypeVar("T")


def redis_client(url: str) -> redis.Redis:
    return connect(url, timeout=1.0)


def redis_state(url: str, **ttls: Any) -> RedisState:
    return RedisState(redis_client(url), url=url, account="test-account", **ttls)


def pair(kind: str, url: str, pick: Callable[[Any], T], **ttls: Any) -> tuple[T, T]:
    """Two handles on one store of `kind`; `pick` chooses the part (e.g. `lambda state: state.clicks`)."""
    if kind == "memory":
        one = pick(MemoryState(**ttls))
        return one, one
    if kind == "redis":
        return pick(redis_state(url, **ttls)), pick(redis_state(url, **ttls))
    if kind == "failover":
        return (
            pick(FailoverState(redis_state(url, **ttls), MemoryState(**ttls))),
            pick(FailoverState(redis_state(url, **ttls), MemoryState(**ttls))),
        )
    raise AssertionError(kind)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def all_at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """`call(i)` for i in range(count), from `count` threads released together; the results, in finishing order."""
    results: list[T] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait(5)
        result = call(index)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == count
    return results


def namespaced_keys_all_expire(url: str) -> list[str]:
    """Every key the bot wrote: all under participations-bot:, each with an expiry."""
    client = redis_client(url)
    keys = sorted(str(key) for key in client.keys("*"))
    for key in keys:
        assert key.startswith("participations-bot:"), key
        assert client.pttl(key) > 0, f"{key} has no expiry"
    return keys
