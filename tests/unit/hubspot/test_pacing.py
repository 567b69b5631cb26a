"""RateGovernor: first come, first served bookings inside the rolling window, and quick refusals."""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.config import Settings
from bot.hubspot.client import HubSpotClient
from bot.hubspot.pacing import JITTER_ALLOWANCE, RateGovernor
from bot.state import Limit
from bot.state.memory import MemoryRateWindow
from tests.conftest import VirtualTime
from tests.support.hubspot import FakeHubSpot, Scripted, participation


class CountingWindow(MemoryRateWindow):
    """This process's window, counting the send times it booked (to wait for a waiter without peeking inside)."""

    booked = 0

    def book(self, capacity: int, window: float, max_wait: float) -> float | None:
        slot = super().book(capacity, window, max_wait)
        if slot is not None:
            self.booked += 1
        return slot


def exact_governor(cap: int, window: float, **options: Any) -> RateGovernor:
    """A governor pacing exactly to `cap` per `window`: HubSpot's own limit and the jitter allowance are not the
    subject of the booking tests."""
    return RateGovernor(cap, window, default_limit=Limit(10_000, window), jitter_allowance=0, **options)


def test_a_burst_beyond_the_window_is_spread_over_windows_in_arrival_order() -> None:
    clock = VirtualTime(start=0.0)
    governor = exact_governor(2, 10.0, clock=clock.clock, sleep=clock.sleep)
    sent_at = []
    for _ in range(5):
        assert governor.acquire(deadline=100.0)
        sent_at.append(clock.clock())
    assert sent_at == [0.0, 0.0, 10.0, 10.0, 20.0]


def test_a_booking_past_the_deadline_is_refused_at_once_without_waiting() -> None:
    clock = VirtualTime(start=0.0)
    governor = exact_governor(1, 10.0, clock=clock.clock, sleep=clock.sleep)
    assert governor.acquire(deadline=5.0)
    assert not governor.acquire(deadline=5.0)
    assert clock.sleeps == []
    assert governor.acquire(deadline=15.0)  # the refused caller did not take a slot
    assert clock.clock() == 10.0


def test_a_pause_that_arrives_while_waiting_pushes_the_send_back() -> None:
    clock = VirtualTime(start=0.0)

    def sleep_and_hear_a_429(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 1:
            governor.pause(5.0)  # another thread's request was answered 429 meanwhile

    governor = exact_governor(1, 1.0, clock=clock.clock, sleep=sleep_and_hear_a_429)
    assert governor.acquire(deadline=100.0)
    assert clock.sleeps == []  # the first send does not wait
    assert governor.acquire(deadline=100.0)
    assert clock.clock() == 6.0


def test_a_pause_longer_than_the_deadline_refuses() -> None:
    clock = VirtualTime(start=0.0)
    governor = exact_governor(10, 10.0, clock=clock.clock, sleep=clock.sleep)
    governor.pause(30.0)
    assert not governor.acquire(deadline=15.0)


def test_concurrent_callers_are_served_in_order_and_none_misses_a_reachable_deadline() -> None:
    # 15 callers, 5 per 0.2 s window: the last slots open at 0.4 s, inside everyone's 0.6 s deadline.
    governor = exact_governor(5, 0.2)
    start = time.monotonic()
    deadline = start + 0.6
    outcomes: list[bool] = []
    lock = threading.Lock()

    def caller() -> None:
        granted = governor.acquire(deadline)
        with lock:
            outcomes.append(granted)

    threads = [threading.Thread(target=caller) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert outcomes == [True] * 15
    assert time.monotonic() - start < 2.0


def test_an_earlier_caller_is_not_overtaken_by_later_ones() -> None:
    # One send per 0.1 s. The first waiter can make its deadline only if it gets the next slot; five callers
    # arriving after it must not take that slot from it.
    store = CountingWindow()
    governor = exact_governor(1, 0.1, store=store)
    start = time.monotonic()
    assert governor.acquire(start + 1)
    order: list[str] = []
    lock = threading.Lock()

    def caller(name: str, deadline: float) -> None:
        if governor.acquire(deadline):
            with lock:
                order.append(name)

    first = threading.Thread(target=caller, args=("first", start + 0.15))
    first.start()
    waited = time.monotonic() + 1
    while store.booked < 2 and time.monotonic() < waited:  # until the first waiter has booked its slot
        time.sleep(0.005)
    later = [threading.Thread(target=caller, args=(f"later{i}", start + 5)) for i in range(5)]
    for thread in later:
        thread.start()
    for thread in [first, *later]:
        thread.join(5)
    assert order[:1] == ["first"]
    assert sorted(order[1:]) == [f"later{i}" for i in range(5)]


def test_hubspot_max_lowers_a_cap_set_above_it_and_never_raises_one() -> None:
    governor = RateGovernor(190, 10.0)
    governor.observe({"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert governor.capacity == 100 - governor.reserve
    governor.observe({"X-HubSpot-RateLimit-Max": "250", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert governor.capacity == 190  # the account grew: up to our own cap, never past it
    modest = RateGovernor(50, 10.0)
    modest.observe({"X-HubSpot-RateLimit-Max": "100"})
    assert modest.capacity == 50
    other_window = RateGovernor(90, 10.0)
    other_window.observe({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Interval-Milliseconds": "1000"})
    assert other_window.pacing() == (9, 1.0 + JITTER_ALLOWANCE)  # 9 per second: under both limits


def test_without_a_cap_the_bot_follows_what_hubspot_advertises() -> None:
    governor = RateGovernor()
    assert governor.pacing() == (97, 10.0 + JITTER_ALLOWANCE)  # before any answer: the smallest tier, less the margin
    governor.observe({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert governor.capacity == 184  # Professional: not 90 any more
    search = RateGovernor(5, 1.0)  # a second window, e.g. HubSpot's 5 per second for contact search
    search.observe({"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert search.pacing() == (5, 1.0 + JITTER_ALLOWANCE)  # never 50 per 10 s
    capped = RateGovernor(60)
    capped.observe({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert capped.capacity == 60  # a token shared with other tools keeps its lower cap


def test_a_429_without_retry_after_waits_until_the_window_rolls_not_a_whole_window_from_now(
    fake_hubspot: FakeHubSpot, settings: Settings
) -> None:
    """Alone, a 429 waits the whole interval; after a burst, only until our oldest request leaves the window."""
    clock = VirtualTime()
    client = HubSpotClient.from_settings(settings, sleep=clock.sleep, clock=clock.clock)
    fake_hubspot.add_contact([participation(1)], "jane@example.com")
    rolling = {"status": "error", "message": "ten_secondly_rolling", "policyName": "TEN_SECONDLY_ROLLING"}
    window = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    client.breakdown("jane@example.com")  # sent at t=0
    clock.sleep(9.0)
    fake_hubspot.script(Scripted(429, rolling, window))
    page = client.breakdown("jane@example.com")  # 429 at t=9: the t=0 request leaves the window at t=10
    assert len(page.results) == 1
    assert clock.sleeps == [9.0, 1.0]

    clock.sleep(20.0)  # nothing of ours left in the window: wait the whole interval
    fake_hubspot.script(Scripted(429, rolling, window))
    client.breakdown("jane@example.com")
    assert clock.sleeps[-1] == 10.0


def test_a_429_with_retry_after_is_honoured(fake_hubspot: FakeHubSpot, settings: Settings) -> None:
    clock = VirtualTime()
    client = HubSpotClient.from_settings(settings, sleep=clock.sleep, clock=clock.clock)
    fake_hubspot.add_contact([participation(1)], "jane@example.com")
    rolling = {"status": "error", "message": "ten_secondly_rolling", "policyName": "TEN_SECONDLY_ROLLING"}
    fake_hubspot.script(Scripted(429, rolling, {"Retry-After": "3"}))
    client.breakdown("jane@example.com")
    assert clock.sleeps == [3.0]
