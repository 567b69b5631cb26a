"""Redis failing never fails a user: fall back to memory with one warning, come back to Redis by itself."""

from __future__ import annotations

import logging
import time

import pytest

from bot.config import Settings
from bot.runtime import build_state
from bot.state.failover import MIRRORED_CLAIMS, FailoverState
from bot.state.memory import MemoryState
from bot.state.redis import RedisState, connect
from tests.support.redis_server import RedisServer
from tests.support.waiting import free_port


def failover(server: RedisServer, cooldown: float = 0.3, switches: list[bool] | None = None) -> FailoverState:
    shared = RedisState(connect(server.url, timeout=0.2), url=server.url, account="acct")
    on_change = switches.append if switches is not None else None
    return FailoverState(shared, MemoryState(), cooldown=cooldown, on_change=on_change)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot.state")]


def in_redis(server: RedisServer, pattern: str) -> list[str]:
    return [str(key) for key in server.client().keys(pattern)]


def test_redis_stopped_then_restarted(own_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    switches: list[bool] = []  # what the participations_redis_up gauge hears
    state = failover(own_redis, switches=switches)
    state.check_at_start()
    assert state.clicks.claim("before")
    own_redis.stop()
    claims = [state.clicks.claim(f"during-{i}") for i in range(50)]
    assert all(claims)
    assert not state.clicks.claim("during-3")  # memory still de-duplicates this process's clicks
    assert not state.clicks.claim("before")  # and remembers what it claimed on Redis
    state.languages.put("U1", "pt-BR")
    assert state.languages.get("U1") == "pt-BR"
    with state.edits.editing("m", ("a", "done", "a")) as edits:
        assert edits == [("a", "done", "a")]
    assert state.rate_window("breakdown").book(10, 1.0, 5.0) is not None
    down = warnings(caplog)
    assert len(down) == 1 and "Redis did not answer" in down[0]

    own_redis.start()  # same port, empty
    time.sleep(0.35)  # the cool-down
    deadline = time.monotonic() + 5
    while not in_redis(own_redis, "participations-bot:click:*") and time.monotonic() < deadline:
        state.clicks.claim(f"after-{time.monotonic()}")
        time.sleep(0.05)
    assert in_redis(own_redis, "participations-bot:click:*"), "never went back to Redis"
    assert warnings(caplog)[1:] == ["Redis answers again: shared state is back in Redis"]
    assert switches == [True, False, True]
    assert own_redis.password is not None
    assert all(own_redis.password not in record.getMessage() for record in caplog.records)


def test_a_frozen_redis_costs_one_call_a_fraction_of_a_second(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    state = failover(own_redis, cooldown=0.5)
    assert state.clicks.claim("before")
    own_redis.freeze()
    try:
        started = time.monotonic()
        assert state.clicks.claim("first-while-frozen")
        assert time.monotonic() - started < 1.0
        started = time.monotonic()
        for index in range(50):
            state.clicks.claim(f"frozen-{index}")
            state.languages.get(f"U{index}")
            with state.edits.editing(f"m{index}", ("a", "b", "c")):
                pass
        assert time.monotonic() - started < 0.5  # the breaker is open: memory speed
        assert len(warnings(caplog)) == 1
    finally:
        own_redis.thaw()
    time.sleep(0.55)
    deadline = time.monotonic() + 5
    while state.breaker.down and time.monotonic() < deadline:
        state.clicks.claim(f"after-{time.monotonic()}")
        time.sleep(0.05)
    assert not state.breaker.down


def test_the_bot_starts_when_redis_is_down_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:hunter2-pass@127.0.0.1:{free_port()}/0"
    switches: list[bool] = []
    state = build_state(Settings(redis_url=url, hubspot_access_token="pat-na1-x"), on_redis_change=switches.append)
    assert switches == [False]
    assert state.clicks.claim("k")
    assert not state.clicks.claim("k")
    assert state.ready() is not None
    said = warnings(caplog)
    assert len(said) == 1 and "starting with memory" in said[0]
    assert "hunter2-pass" not in said[0] and "redis://:***@127.0.0.1" in said[0]


def test_without_redis_url_state_stays_in_memory() -> None:
    state = build_state(Settings())
    assert isinstance(state, MemoryState)
    assert state.ready() is None


def test_while_redis_answers_memory_mirrors_only_the_latest_claims(own_redis: RedisServer) -> None:
    shared = RedisState(connect(own_redis.url, timeout=0.2), url=own_redis.url, account="acct")
    state = FailoverState(shared, cooldown=60)  # the mirror the bot builds: bounded below memory-only mode's size
    total = MIRRORED_CLAIMS + 500
    assert all(state.clicks.claim(f"click-{i}") for i in range(total))
    own_redis.stop()
    assert not state.clicks.claim(f"click-{total - 1}")  # the latest are still known on the fallback
    assert not state.clicks.claim(f"click-{total - MIRRORED_CLAIMS}")
    assert state.clicks.claim("click-0")  # the oldest were let go: the copy stays small however long Redis runs
