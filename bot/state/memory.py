"""In-memory state: one process, nothing to set up. Every map is bounded by age and by size.

The size bound matters as much as the age: a burst of distinct clicks or users must not grow the process without
limit for the ten minutes (or hour) their entries live. Past `max_items`, the least recently used entry goes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from bot.state import Edit, Limit, edits_in_order

Clock = Callable[[], float]
V = TypeVar("V")


class ExpiringMap(Generic[V]):
    """A thread-safe LRU map whose entries also expire `ttl` seconds after they were set."""

    def __init__(self, ttl: float, max_items: int, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.max_items = max(1, max_items)
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return entry[1]

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._put(key, value, self._clock())

    def put_if_absent(self, key: str, value: V) -> bool:
        """Set `key` unless it holds a live value; True when set."""
        with self._lock:
            now = self._clock()
            entry = self._items.get(key)
            if entry is not None and entry[0] > now:
                return False
            self._put(key, value, now)
            return True

    def get_or_put(self, key: str, make: Callable[[], V]) -> V:
        with self._lock:
            now = self._clock()
            entry = self._items.get(key)
            if entry is not None and entry[0] > now:
                self._items.move_to_end(key)
                return entry[1]
            value = make()
            self._put(key, value, now)
            return value

    def pop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def _put(self, key: str, value: V, now: float) -> None:
        self._items[key] = (now + self.ttl, value)
        self._items.move_to_end(key)
        # Expired entries sit at the front more often than not (oldest writes); then trim to size.
        while self._items:
            oldest_key, (expiry, _) = next(iter(self._items.items()))
            if expiry > now and len(self._items) <= self.max_items:
                break
            del self._items[oldest_key]


class MemoryClickClaims:
    def __init__(self, ttl: float = 600.0, max_items: int = 10_000, clock: Clock = time.monotonic) -> None:
        self._claims: ExpiringMap[bool] = ExpiringMap(ttl, max_items, clock)

    def __len__(self) -> int:
        """How many claims held (expired ones may still count until the next write)."""
        return len(self._claims)

    def claim(self, key: str) -> bool:
        return self._claims.put_if_absent(key, True)

    def release(self, key: str) -> None:
        self._claims.pop(key)


class _MessageEntry:
    __slots__ = ("edits", "lock")

    def __init__(self) -> None:
        self.edits: list[Edit] = []
        self.lock = threading.Lock()


class MemoryMessageEdits:
    def __init__(self, ttl: float = 600.0, max_items: int = 2_000, clock: Clock = time.monotonic) -> None:
        self._messages: ExpiringMap[_MessageEntry] = ExpiringMap(ttl, max_items, clock)

    def __len__(self) -> int:
        """How many messages whose edits are kept (expired ones may still count until the next write)."""
        return len(self._messages)

    @contextmanager
    def editing(self, message: str, edit: Edit) -> Iterator[list[Edit]]:
        entry = self._messages.get_or_put(message, _MessageEntry)
        with entry.lock:
            if edit not in entry.edits:
                entry.edits.append(edit)
            yield edits_in_order(entry.edits)

    def record(self, message: str, edits: list[Edit]) -> None:
        """Remember edits learnt elsewhere (from Redis), so a fallback still knows them."""
        entry = self._messages.get_or_put(message, _MessageEntry)
        with entry.lock:
            entry.edits[:] = edits_in_order([*entry.edits, *edits])


class MemoryLanguageCache:
    def __init__(self, ttl: float = 3600.0, max_items: int = 10_000, clock: Clock = time.monotonic) -> None:
        self._languages: ExpiringMap[str] = ExpiringMap(ttl, max_items, clock)

    def __len__(self) -> int:
        """How many users whose language is cached (expired ones may still count until the next write)."""
        return len(self._languages)

    def get(self, user_id: str) -> str | None:
        return self._languages.get(user_id)

    def put(self, user_id: str, language: str) -> None:
        self._languages.put(user_id, language)


class MemoryRateWindow:
    """The booked send times of this process: a deque no longer than the window's capacity allows."""

    def __init__(self, clock: Clock = time.monotonic, limit_ttl: float = 3600.0) -> None:
        self._clock = clock
        self._sent: deque[float] = deque()  # booked send times, oldest first (some may lie in the future)
        self._pause_until = 0.0
        self._learned: ExpiringMap[Limit] = ExpiringMap(limit_ttl, 1, clock)
        self._lock = threading.Lock()

    def book(self, capacity: int, window: float, max_wait: float) -> float | None:
        capacity = max(1, capacity)
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - window:
                self._sent.popleft()
            slot = max(now, self._pause_until)
            if self._sent:
                slot = max(slot, self._sent[-1])
            if len(self._sent) >= capacity:
                slot = max(slot, self._sent[-capacity] + window)
            if slot - now > max_wait:
                return None
            self._sent.append(slot)
            return slot - now

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._pause_until = max(self._pause_until, self._clock() + seconds)

    def paused_for(self) -> float:
        with self._lock:
            return max(0.0, self._pause_until - self._clock())

    def until_window_rolls(self, interval: float) -> float:
        with self._lock:
            now = self._clock()
            inside = [sent for sent in self._sent if now - interval < sent <= now]
        return inside[0] + interval - now if inside else interval

    def learn(self, limit: Limit) -> None:
        self._learned.put("limit", limit)

    def learned(self) -> Limit | None:
        return self._learned.get("limit")


class MemoryState:
    """All state in this process: the default without REDIS_URL, and the fallback when Redis fails."""

    def __init__(
        self,
        clock: Clock = time.monotonic,
        *,
        click_ttl: float = 600.0,
        edit_ttl: float = 600.0,
        language_ttl: float = 3600.0,
        max_claims: int = 10_000,
        max_messages: int = 2_000,
    ) -> None:
        self.clicks = MemoryClickClaims(click_ttl, max_claims, clock=clock)
        self.edits = MemoryMessageEdits(edit_ttl, max_messages, clock=clock)
        self.languages = MemoryLanguageCache(language_ttl, clock=clock)
        self._clock = clock
        self._windows: dict[str, MemoryRateWindow] = {}
        self._lock = threading.Lock()

    def rate_window(self, name: str) -> MemoryRateWindow:
        with self._lock:  # a handful of names, fixed in code: this dict cannot grow with traffic
            if name not in self._windows:
                self._windows[name] = MemoryRateWindow(self._clock)
            return self._windows[name]

    def ready(self) -> str | None:
        return None
