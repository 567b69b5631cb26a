"""Pacing: every process that shares a HubSpot token stays under HubSpot's rolling window, before a 429."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from bot.hubspot.session import header_number
from bot.state import Limit, RateWindow
from bot.state.memory import MemoryRateWindow

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

# Before HubSpot has answered once: its smallest tier (Free/Starter), so a first burst cannot overshoot any account.
DEFAULT_LIMIT = Limit(maximum=100, interval=10.0)
LIMIT_RECHECK_SECONDS = 1.0  # how often a process re-reads the limit the others learnt
# Booked send times and HubSpot's arrival times differ by scheduling and network jitter: pace against a window
# this much longer than HubSpot's, or two requests booked a window apart can arrive just inside one.
JITTER_ALLOWANCE = 0.1


def safety_margin(maximum: int) -> int:
    """Requests kept back from HubSpot's own maximum (3 %, at least one): other tools' stray requests and requests
    still in flight when the window is read."""
    return max(1, math.ceil(maximum * 0.03))


class RateGovernor:
    """Keeps every process that shares a HubSpot token under HubSpot's rolling window, before HubSpot says 429.

    The window of booked send times lives in a `RateWindow` (this process's memory, or Redis shared by every
    process with this token). The limit paced to is the one HubSpot advertises (`X-HubSpot-RateLimit-Max` per
    `-Interval-Milliseconds`), less a small margin, learnt from answers and shared; until the first answer,
    `DEFAULT_LIMIT`. `cap` (HUBSPOT_REQUESTS_PER_10S, per `window_seconds`) can only lower it, for a token that
    other tools also use. HubSpot's `-Remaining` (which counts other apps on the account too) and 429s pause
    everyone sharing the window.

    Callers are served first come, first served: each one books the earliest free send time and sleeps until
    then, so in a burst larger than the window nobody overtakes an earlier caller and runs it past its deadline,
    and a caller whose booking would land after its deadline is told at once instead of after a wait.
    """

    def __init__(
        self,
        cap: int | None = None,
        window_seconds: float = 10.0,
        *,
        store: RateWindow | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        reserve: int = 3,
        default_limit: Limit = DEFAULT_LIMIT,
        jitter_allowance: float = JITTER_ALLOWANCE,
    ) -> None:
        self.cap = max(1, cap) if cap is not None else None
        self.jitter_allowance = jitter_allowance
        self.window_seconds = window_seconds
        self.reserve = reserve
        self.default_limit = default_limit
        self._clock = clock
        self._sleep = sleep
        self.store = store or MemoryRateWindow(clock)
        self._known: Limit | None = None
        self._known_at = -math.inf
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self.pacing()[0]

    def pacing(self) -> tuple[int, float]:
        """(requests, per seconds) this governor books against now.

        When the cap and HubSpot's limit have different windows, the shorter window is used and both are scaled
        into it: a rate moved to a shorter window only gets stricter (5 per second never becomes 50 per 10 s).
        """
        limit = self._limit() or self.default_limit
        capacity = max(1, limit.maximum - safety_margin(limit.maximum))
        window = limit.interval
        if self.cap is not None:
            window = min(window, self.window_seconds)
            capacity = min(
                math.floor(capacity * window / limit.interval), math.floor(self.cap * window / self.window_seconds)
            )
        return max(1, capacity), window + self.jitter_allowance

    def _limit(self) -> Limit | None:
        now = self._clock()
        if now - self._known_at >= LIMIT_RECHECK_SECONDS:
            learned = self.store.learned()
            with self._lock:
                self._known, self._known_at = learned, now
        return self._known

    def acquire(self, deadline: float) -> bool:
        """Wait for a send slot; False if none opens before `deadline` (a clock value)."""
        capacity, window = self.pacing()
        wait = self.store.book(capacity, window, deadline - self._clock())
        if wait is None:
            return False
        while True:
            if wait > 0:
                self._sleep(wait)
            # A 429 or a nearly spent window seen (by anyone) while we slept pushes everyone back.
            wait = self.store.paused_for()
            if wait <= 0:
                return True
            if self._clock() + wait > deadline:
                return False

    def until_window_rolls(self, interval: float) -> float:
        """Seconds until the oldest request sent inside HubSpot's rolling `interval` leaves it (a slot frees).

        Alone, that is the whole interval; in a burst it is often a second or less.
        """
        return self.store.until_window_rolls(interval)

    def pause(self, seconds: float) -> None:
        self.store.pause(seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        self._learn_limit(headers)
        remaining = header_number(headers, "X-HubSpot-RateLimit-Remaining")
        if remaining is None or remaining > self.reserve:
            return
        interval_ms = header_number(headers, "X-HubSpot-RateLimit-Interval-Milliseconds") or 10_000
        maximum = header_number(headers, "X-HubSpot-RateLimit-Max") or self.capacity
        spacing = interval_ms / 1000 / max(maximum, 1)
        # The closer to zero, the longer the gap: at 0 left, wait for a few slots to roll off.
        self.pause(spacing * (self.reserve + 1 - remaining))

    def _learn_limit(self, headers: Mapping[str, str]) -> None:
        """Remember (and share) the limit HubSpot advertises, when it differs from the one we know.

        A Professional account (190) then gets its whole window instead of the default's 97, and a setting above
        the account's real limit cannot meet a 429 storm in every burst.
        """
        maximum = header_number(headers, "X-HubSpot-RateLimit-Max")
        if maximum is None or maximum < 1:
            return
        interval_ms = header_number(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        limit = Limit(int(maximum), interval_ms / 1000 if interval_ms else self.default_limit.interval)
        with self._lock:
            if limit == self._known:
                return
            self._known, self._known_at = limit, self._clock()
        self.store.learn(limit)
        log.info("HubSpot allows %d requests per %g s; pacing at %d", limit.maximum, limit.interval, self.pacing()[0])
