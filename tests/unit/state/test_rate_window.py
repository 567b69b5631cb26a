"""RateWindow contract: bookings first come first served inside a rolling window, shared by every process."""

from __future__ import annotations

import time

from bot.state import Limit
from tests.support.state_impls import all_at_once, kind, namespaced_keys_all_expire, pair

__all__ = ["kind"]

SLACK = 0.05  # two calls a few milliseconds apart (and Redis's clock against ours)


def test_the_window_fills_then_the_next_booking_waits_for_the_oldest_to_roll(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))
    first_booked = time.monotonic()
    waits = [(here if i % 2 else there).book(3, 1.0, 5.0) for i in range(3)]
    assert all(wait is not None and wait < SLACK for wait in waits)
    fourth = here.book(3, 1.0, 5.0)
    elapsed = time.monotonic() - first_booked  # the first slot leaves the window 1 s after it was booked
    assert fourth is not None and 1.0 - elapsed - SLACK < fourth <= 1.0


def test_a_booking_past_max_wait_is_refused_and_takes_nothing(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))
    assert here.book(1, 1.0, 5.0) is not None
    assert there.book(1, 1.0, 0.5) is None
    later = there.book(1, 1.0, 5.0)
    assert later is not None and later <= 1.0  # the refused caller left the slot free


def test_bookings_are_first_come_first_served_and_never_overfill(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))
    booked = all_at_once(30, lambda i: (here if i % 2 else there).book(10, 1.0, 5.0))
    waits = [wait for wait in booked if wait is not None]
    assert len(waits) == 30
    assert sum(wait < 0.5 for wait in waits) == 10
    assert sum(0.5 <= wait < 1.5 for wait in waits) == 10
    assert sum(1.5 <= wait < 2.5 for wait in waits) == 10


def test_a_pause_holds_everyone_back_and_only_ever_grows(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))
    assert here.paused_for() == 0.0
    paused = time.monotonic()
    here.pause(0.6)
    there.pause(0.2)  # shorter: does not cut the first one short
    left = there.paused_for()
    assert 0.6 - (time.monotonic() - paused) - SLACK < left <= 0.6
    wait = there.book(10, 1.0, 5.0)
    assert wait is not None and wait > 0.5
    time.sleep(0.65)
    assert here.paused_for() == 0.0


def test_until_the_window_rolls(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))
    assert there.until_window_rolls(1.0) == 1.0  # nothing sent: the whole interval
    before = time.monotonic()
    here.book(10, 1.0, 5.0)
    booked = time.monotonic()
    time.sleep(0.3)
    asked = time.monotonic()
    left = there.until_window_rolls(1.0)
    answered = time.monotonic()
    # The slot was booked between `before` and `booked`, and leaves the window 1 s later; the answer was computed
    # between `asked` and `answered` (a busy machine stretches both, so the bounds come from the clock).
    assert before + 1.0 - answered - SLACK < left <= booked + 1.0 - asked + SLACK


def test_the_learnt_limit_is_shared(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))
    assert there.learned() is None
    here.learn(Limit(190, 10.0))
    assert there.learned() == Limit(190, 10.0)


def test_windows_with_different_names_are_separate(kind: str, redis_url: str) -> None:
    breakdown = pair(kind, redis_url, lambda state: state.rate_window("breakdown"))[0]
    search = pair(kind, redis_url, lambda state: state.rate_window("search"))[0]
    assert breakdown.book(1, 1.0, 5.0) is not None
    wait = search.book(1, 1.0, 5.0)
    assert wait is not None and wait < SLACK


def test_redis_window_keys_are_keyed_by_account_and_expire(redis_url: str) -> None:
    here, _ = pair("redis", redis_url, lambda state: state.rate_window("breakdown"))
    here.book(10, 1.0, 5.0)
    here.pause(1.0)
    here.learn(Limit(100, 10.0))
    keys = namespaced_keys_all_expire(redis_url)
    assert keys == [
        "participations-bot:rate:test-account:breakdown:limit",
        "participations-bot:rate:test-account:breakdown:pause",
        "participations-bot:rate:test-account:breakdown:sent",
    ]
