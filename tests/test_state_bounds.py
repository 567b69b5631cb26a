"""The in-process click state is bounded by age and by size, and pruning it never copies it whole."""

from __future__ import annotations

from bot.services import ClickGuard, RetiredButtons


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_claims_expire_and_a_burst_cannot_grow_the_guard_past_its_size() -> None:
    clock = Clock()
    guard = ClickGuard(ttl=60, clock=clock, max_entries=3)
    assert [guard.claim(key) for key in "abc"] == [True, True, True]
    assert not guard.claim("a")  # still held
    assert guard.claim("d")  # the oldest claim ("a") makes room
    assert len(guard._claims) == 3
    assert guard.claim("a")  # evicted, so claimable again
    clock.now += 61
    assert guard.claim("e")
    assert list(guard._claims) == ["e"]  # everything older expired


def test_a_claim_renewed_after_expiry_moves_to_the_back() -> None:
    clock = Clock()
    guard = ClickGuard(ttl=60, clock=clock, max_entries=10)
    guard.claim("a")
    clock.now += 30
    guard.claim("b")
    clock.now += 31  # "a" expired, "b" not
    assert guard.claim("a")
    assert list(guard._claims) == ["b", "a"]
    assert not guard.claim("b")
    assert list(guard._claims) == ["b", "a"]  # a refused claim keeps its place


def test_retired_buttons_forget_the_oldest_message_past_their_size() -> None:
    clock = Clock()
    retired = RetiredButtons(ttl=60, clock=clock, max_entries=2)
    for message in ("m1", "m2", "m3"):
        with retired.editing(message, ("next", "note", "2")):
            pass
    assert list(retired._edits) == ["m2", "m3"]
    with retired.editing("m3", ("summary", "note", "s")) as edits:
        assert edits == [("next", "note", "2"), ("summary", "note", "s")]
    clock.now += 61
    with retired.editing("m4", ("next", "note", "2")):
        pass
    assert list(retired._edits) == ["m4"]
