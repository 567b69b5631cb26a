"""Cross-request state, one small interface per concern.

Each interface has an in-memory implementation (`bot.state.memory`: one process, nothing to set up) and a Redis one
(`bot.state.redis`: every process of a deployment shares it), and `bot.state.failover` puts Redis in front of
memory behind a circuit breaker. `build_state` chooses once, from settings; listeners receive the result through
`Runtime` and never look a store up themselves.

Waits are expressed in seconds from now, never as clock values, so processes (and Redis) need not share a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

Edit = tuple[str, str, str]  # (action_id of the used button, note shown instead, block-id suffix)

NAMESPACE = "participations-bot"


class ClickClaims(Protocol):
    """Once-only clicks: the first claim of a key wins until it expires or is released."""

    def claim(self, key: str) -> bool:
        """True for the first claim of `key` (in every process sharing the store)."""
        ...

    def release(self, key: str) -> None:
        """Let the user try again after a failure."""
        ...


class MessageEdits(Protocol):
    """The used-button edits of each message, so concurrent edits each keep every earlier edit."""

    def editing(self, message: str, edit: Edit) -> AbstractContextManager[list[Edit]]:
        """Record `edit` and yield every edit of `message` so far (this one included, in first-seen order).

        Hold the context while posting the replacement: no other holder for the same message gets in meanwhile,
        so the last replacement posted always carries every edit.
        """
        ...


class LanguageCache(Protocol):
    """Slack user id → catalogue language, for `ttl` seconds."""

    def get(self, user_id: str) -> str | None: ...

    def put(self, user_id: str, language: str) -> None: ...


@dataclass(frozen=True)
class Limit:
    """A rate limit as HubSpot advertises it: `maximum` requests per rolling `interval` seconds."""

    maximum: int
    interval: float


class RateWindow(Protocol):
    """A rolling window of booked send times, shared by everyone who sends with one token.

    First come, first served: a booking takes the earliest free time no earlier than any booking before it.
    """

    def book(self, capacity: int, window: float, max_wait: float) -> float | None:
        """Book a send time; seconds to wait until it, or None (and nothing booked) when that exceeds `max_wait`."""
        ...

    def pause(self, seconds: float) -> None:
        """Nobody sends for `seconds` from now (a 429, or a nearly spent window)."""
        ...

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when none)."""
        ...

    def until_window_rolls(self, interval: float) -> float:
        """Seconds until the oldest send inside the last `interval` leaves it (the whole interval when none)."""
        ...

    def learn(self, limit: Limit) -> None:
        """Remember the limit HubSpot advertised, for everyone."""
        ...

    def learned(self) -> Limit | None: ...


class State(Protocol):
    """Everything shared between requests, built once per process by `build_state`."""

    @property
    def clicks(self) -> ClickClaims: ...

    @property
    def edits(self) -> MessageEdits: ...

    @property
    def languages(self) -> LanguageCache: ...

    def rate_window(self, name: str) -> RateWindow:
        """The rate window `name` (e.g. "breakdown", "search") of this deployment's HubSpot token."""
        ...

    def ready(self) -> str | None:
        """None when the store answers, else a short reason (for /readyz)."""
        ...


def edits_in_order(raw: Iterator[Edit] | list[Edit]) -> list[Edit]:
    """Each edit once, in the order first seen."""
    seen: list[Edit] = []
    for edit in raw:
        if edit not in seen:
            seen.append(edit)
    return seen
