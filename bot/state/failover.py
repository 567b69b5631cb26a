"""Redis first, this process's memory when Redis fails: a circuit breaker shared by every piece of state.

Redis down, restarting or frozen must never fail a user. The first failure opens the breaker (one warning for the
whole outage, not one per request); while open, every call goes straight to memory at memory's speed; after
`cooldown` seconds one caller probes Redis again and, when it answers, everyone is back on Redis (one info line).
With the client's short timeouts, a frozen Redis costs one lookup a fraction of a second, once per cool-down.

Writes that succeed on Redis are mirrored into memory where it is cheap (claims, languages, edits), so a process
that falls back still knows what it did itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TypeVar

from bot.state import Edit, Limit
from bot.state.memory import MemoryState
from bot.state.redis import REDIS_FAILURES, RedisState, describe_failure

log = logging.getLogger(__name__)

T = TypeVar("T")

# While Redis answers, memory only mirrors this process's latest claims and edits, for a fall-back in the next
# minutes: a smaller copy than memory-only mode keeps (10,000 / 2,000), so the process stays flat on Redis
# (the soak measured 6.5 MiB over 3,000 lookups with full-size copies).
MIRRORED_CLAIMS = 1_000
MIRRORED_MESSAGES = 200
Clock = Callable[[], float]


class Breaker:
    """`on_change(up)` hears every switch (and the state at start): e.g. the `participations_redis_up` gauge."""

    def __init__(
        self,
        url: str,
        cooldown: float = 5.0,
        clock: Clock = time.monotonic,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.url = url
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change or (lambda _up: None)
        self._down = False
        self._probing = False
        self._retry_at = 0.0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._down

    def allow(self) -> bool:
        """Whether this call may try Redis: always while it works; once per cool-down (one prober) while down."""
        if not self._down:
            return True
        with self._lock:
            if self._down and not self._probing and self._clock() >= self._retry_at:
                self._probing = True
                return True
            return not self._down

    def succeeded(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down, self._probing = self._down, False, False
        if was_down:
            log.warning("Redis answers again: shared state is back in Redis")
            self._on_change(True)

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            was_down, self._down, self._probing = self._down, True, False
            self._retry_at = self._clock() + self.cooldown
        if not was_down:
            log.warning(
                "Redis did not answer (%s): this process keeps its state in memory until Redis answers again "
                "(retrying every %g s); clicks and pacing are exact per process only meanwhile",
                describe_failure(exc, self.url),
                self.cooldown,
            )
            self._on_change(False)

    def trip(self) -> None:
        """Down from the start (Redis did not answer at boot, already said): probe after the cool-down."""
        with self._lock:
            self._down, self._probing, self._retry_at = True, False, self._clock() + self.cooldown
        self._on_change(False)

    def run(self, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
        if not self.allow():
            return fallback()
        try:
            result = primary()
        except REDIS_FAILURES as exc:
            self.failed(exc)
            return fallback()
        self.succeeded()
        return result


class FailoverClickClaims:
    def __init__(self, state: FailoverState) -> None:
        self._breaker = state.breaker
        self._redis = state.redis.clicks
        self._memory = state.memory.clicks

    def claim(self, key: str) -> bool:
        def shared() -> bool:
            won = self._redis.claim(key)
            if won:
                self._memory.claim(key)  # so a fall back later still knows this process's own claims
            return won

        return self._breaker.run(shared, lambda: self._memory.claim(key))

    def release(self, key: str) -> None:
        self._memory.release(key)
        self._breaker.run(lambda: self._redis.release(key), lambda: None)


class FailoverMessageEdits:
    def __init__(self, state: FailoverState) -> None:
        self._breaker = state.breaker
        self._redis = state.redis.edits
        self._memory = state.memory.edits

    @contextmanager
    def editing(self, message: str, edit: Edit) -> Iterator[list[Edit]]:
        with ExitStack() as stack:

            def enter(manager: AbstractContextManager[list[Edit]]) -> list[Edit]:
                return stack.enter_context(manager)

            def shared() -> list[Edit]:
                edits = enter(self._redis.editing(message, edit))
                self._memory.record(message, edits)
                return edits

            yield self._breaker.run(shared, lambda: enter(self._memory.editing(message, edit)))


class FailoverLanguageCache:
    """Memory is also a near cache in front of Redis: a known user costs no round trip at all."""

    def __init__(self, state: FailoverState) -> None:
        self._breaker = state.breaker
        self._redis = state.redis.languages
        self._memory = state.memory.languages

    def get(self, user_id: str) -> str | None:
        near = self._memory.get(user_id)
        if near is not None:
            return near
        found = self._breaker.run(lambda: self._redis.get(user_id), lambda: None)
        if found is not None:
            self._memory.put(user_id, found)
        return found

    def put(self, user_id: str, language: str) -> None:
        self._memory.put(user_id, language)
        self._breaker.run(lambda: self._redis.put(user_id, language), lambda: None)


class FailoverRateWindow:
    def __init__(self, state: FailoverState, name: str) -> None:
        self._breaker = state.breaker
        self._redis = state.redis.rate_window(name)
        self._memory = state.memory.rate_window(name)

    def book(self, capacity: int, window: float, max_wait: float) -> float | None:
        return self._breaker.run(
            lambda: self._redis.book(capacity, window, max_wait), lambda: self._memory.book(capacity, window, max_wait)
        )

    def pause(self, seconds: float) -> None:
        self._memory.pause(seconds)
        self._breaker.run(lambda: self._redis.pause(seconds), lambda: None)

    def paused_for(self) -> float:
        return self._breaker.run(self._redis.paused_for, self._memory.paused_for)

    def until_window_rolls(self, interval: float) -> float:
        return self._breaker.run(
            lambda: self._redis.until_window_rolls(interval), lambda: self._memory.until_window_rolls(interval)
        )

    def learn(self, limit: Limit) -> None:
        self._memory.learn(limit)
        self._breaker.run(lambda: self._redis.learn(limit), lambda: None)

    def learned(self) -> Limit | None:
        return self._breaker.run(self._redis.learned, self._memory.learned) or self._memory.learned()


class FailoverState:
    """Redis shared by every process, memory when Redis fails."""

    def __init__(
        self,
        redis_state: RedisState,
        memory: MemoryState | None = None,
        *,
        cooldown: float = 5.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.redis = redis_state
        self.memory = memory or MemoryState(max_claims=MIRRORED_CLAIMS, max_messages=MIRRORED_MESSAGES)
        self.breaker = Breaker(redis_state.url, cooldown, on_change=on_change)
        self.clicks = FailoverClickClaims(self)
        self.edits = FailoverMessageEdits(self)
        self.languages = FailoverLanguageCache(self)
        self._windows: dict[str, FailoverRateWindow] = {}
        self._lock = threading.Lock()

    def rate_window(self, name: str) -> FailoverRateWindow:
        with self._lock:  # a handful of names, fixed in code
            if name not in self._windows:
                self._windows[name] = FailoverRateWindow(self, name)
            return self._windows[name]

    def ready(self) -> str | None:
        return self.redis.ready()

    def check_at_start(self) -> None:
        """Say at boot whether Redis answers; the bot starts either way."""
        reason = self.redis.ready()
        if reason is None:
            log.info("shared state %s", self.redis.describe())
            self.breaker._on_change(True)
        else:
            log.warning("shared state %s, but %s: starting with memory until it answers", self.redis.describe(), reason)
            self.breaker.trip()
