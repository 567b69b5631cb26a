"""Redis state: every process of a deployment shares clicks, message edits, languages and the HubSpot window.

Every key lives under `participations-bot:` and carries an expiry, so nothing accumulates. Timeouts are short
(a fraction of a second): `bot.state.failover` turns a slow or absent Redis into a fall back to memory, so Redis
may cost a lookup milliseconds, never seconds. Lua is used for the one step that must read, decide and write
atomically (booking a send time in the shared window, see `_BOOK`), plus two small helpers that read Redis's own
clock; everything else is a plain command or a MULTI transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.logging_setup import redact_url
from bot.state import NAMESPACE, Edit, Limit, edits_in_order

log = logging.getLogger(__name__)

# What a failing Redis raises: refused, reset, timed out, loading, read-only replica, wrong password…
REDIS_FAILURES: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


def connect(url: str, *, timeout: float = 0.2, connect_timeout: float | None = None) -> redis.Redis:
    """A client for REDIS_URL (redis://, rediss://, unix://, a password in it) that never retries on its own.

    redis-py retries three times by default: with a frozen server that is four timeouts per call, where one is
    all the circuit breaker needs to step aside.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout if connect_timeout is not None else timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        client_name="participations-bot",
    )


def _key(*parts: str) -> str:
    return ":".join((NAMESPACE, *parts))


def _digest(text: str) -> str:
    """Keys from user input (cursors, ids) are hashed: fixed length, no surprises in key names."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def account_key(access_token: str) -> str:
    """Who shares a HubSpot window: every process using this token. A hash, never the token itself."""
    return hashlib.sha256(b"participations-bot rate window\0" + access_token.encode()).hexdigest()[:16]


class RedisClickClaims:
    def __init__(self, client: redis.Redis, ttl: float = 600.0) -> None:
        self._client = client
        self._ttl_ms = int(ttl * 1000)

    def claim(self, key: str) -> bool:
        # SET NX PX: the usual claim (Slack's own notes), atomic without a script.
        return bool(self._client.set(_key("click", _digest(key)), "1", nx=True, px=self._ttl_ms))

    def release(self, key: str) -> None:
        self._client.delete(_key("click", _digest(key)))


class RedisMessageEdits:
    """Edits as a Redis list per message; a per-message lock (with an expiry) held while the replacement is posted.

    The lock is what keeps a button gone: without it, a process holding an older list could post its replacement
    after one holding a newer list, bringing back a button the newer one had removed.
    """

    def __init__(
        self, client: redis.Redis, ttl: float = 600.0, lock_timeout: float = 20.0, lock_wait: float = 15.0
    ) -> None:
        self._client = client
        self._ttl_ms = int(ttl * 1000)
        self._lock_timeout = lock_timeout
        self._lock_wait = lock_wait

    @contextmanager
    def editing(self, message: str, edit: Edit) -> Iterator[list[Edit]]:
        digest = _digest(message)
        lock = self._client.lock(
            _key("edits-lock", digest),
            timeout=self._lock_timeout,  # a crashed holder frees the message by itself
            blocking_timeout=self._lock_wait,
            sleep=0.05,
            thread_local=False,
        )
        held = lock.acquire()
        if not held:  # someone has been posting for a very long time: go ahead rather than keep the user waiting
            log.warning("message edit lock still held after %.0f s; editing anyway", self._lock_wait)
        try:
            key = _key("edits", digest)
            pipe = self._client.pipeline(transaction=True)  # append-and-read in one step
            pipe.rpush(key, json.dumps(list(edit)))
            pipe.pexpire(key, self._ttl_ms)
            pipe.lrange(key, 0, -1)
            raw: list[str] = pipe.execute()[-1]
            edits = edits_in_order([_edit(item) for item in raw])
        except BaseException:
            self._release(lock, held)
            raise
        try:
            yield edits
        finally:
            self._release(lock, held)

    @staticmethod
    def _release(lock: Any, held: bool) -> None:
        if not held:
            return
        try:
            lock.release()
        except REDIS_FAILURES as exc:  # LockError is a RedisError too; the lock expires by itself
            log.debug("could not release a message edit lock (%s)", type(exc).__name__)


def _edit(raw: str) -> Edit:
    action_id, note, suffix = json.loads(raw)
    return str(action_id), str(note), str(suffix)


class RedisLanguageCache:
    def __init__(self, client: redis.Redis, ttl: float = 3600.0) -> None:
        self._client = client
        self._ttl_ms = int(ttl * 1000)

    def get(self, user_id: str) -> str | None:
        value = self._client.get(_key("language", _digest(user_id)))
        return str(value) if value else None

    def put(self, user_id: str, language: str) -> None:
        self._client.set(_key("language", _digest(user_id)), language, px=self._ttl_ms)


# Book the earliest send time that keeps at most `capacity` sends in any `window`, no earlier than the pause or
# than the last booking (first come, first served), unless it lies more than `max_wait` away. Reading the window,
# deciding and booking must be one step: two processes reading the same free slot would both send in it. Times are
# Redis's own clock (microseconds), so processes on different hosts need not agree on the time.
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local slot = now
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then slot = now + paused * 1000 end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then slot = math.max(slot, tonumber(last[2])) end
local count = redis.call('ZCARD', KEYS[1])
if count >= capacity then
  local kth = redis.call('ZRANGE', KEYS[1], count - capacity, count - capacity, 'WITHSCORES')
  slot = math.max(slot, tonumber(kth[2]) + window)
end
if slot - now > max_wait then return -1 end
redis.call('ZADD', KEYS[1], slot, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil((slot - now + window) / 1000) + 1000)
return slot - now
"""

# A pause only ever grows: keep the later of the current one and `ms` from now (read-then-write, hence atomic).
_PAUSE = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
"""

# Microseconds until the oldest send inside the last `interval` leaves it, on Redis's clock; -1 when none.
_ROLLS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local after = string.format('(%.0f', now - interval)  -- exclusive; no exponent notation, whole microseconds
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], after, now, 'WITHSCORES', 'LIMIT', 0, 1)
if oldest[2] then return tonumber(oldest[2]) + interval - now end
return -1
"""

MICROS = 1_000_000


class RedisRateWindow:
    def __init__(self, client: redis.Redis, prefix: str, limit_ttl: float = 3600.0) -> None:
        self._client = client
        self._sent = prefix + ":sent"
        self._pause = prefix + ":pause"
        self._limit = prefix + ":limit"
        self._limit_ttl_ms = int(limit_ttl * 1000)
        self._book = client.register_script(_BOOK)
        self._pause_script = client.register_script(_PAUSE)
        self._rolls = client.register_script(_ROLLS)

    def book(self, capacity: int, window: float, max_wait: float) -> float | None:
        args: list[str | int] = [
            max(1, capacity),
            int(window * MICROS),
            int(max(0.0, max_wait) * MICROS),
            uuid.uuid4().hex,
        ]
        waited = int(self._book(keys=[self._sent, self._pause], args=args))
        return None if waited < 0 else waited / MICROS

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self._pause_script(keys=[self._pause], args=[max(1, int(seconds * 1000))])

    def paused_for(self) -> float:
        left = int(self._client.pttl(self._pause))
        return left / 1000 if left > 0 else 0.0

    def until_window_rolls(self, interval: float) -> float:
        left = int(self._rolls(keys=[self._sent], args=[int(interval * MICROS)]))
        return interval if left < 0 else left / MICROS

    def learn(self, limit: Limit) -> None:
        value = json.dumps([limit.maximum, limit.interval])
        self._client.set(self._limit, value, px=self._limit_ttl_ms)

    def learned(self) -> Limit | None:
        raw = self._client.get(self._limit)
        if not raw:
            return None
        try:
            maximum, interval = json.loads(str(raw))
            return Limit(int(maximum), float(interval))
        except (ValueError, TypeError):
            return None


class RedisState:
    def __init__(
        self,
        client: redis.Redis,
        *,
        url: str,
        account: str,
        click_ttl: float = 600.0,
        edit_ttl: float = 600.0,
        language_ttl: float = 3600.0,
    ) -> None:
        self.client = client
        self.url = url
        self.clicks = RedisClickClaims(client, click_ttl)
        self.edits = RedisMessageEdits(client, edit_ttl)
        self.languages = RedisLanguageCache(client, language_ttl)
        self._account = account

    def rate_window(self, name: str) -> RedisRateWindow:
        return RedisRateWindow(self.client, _key("rate", self._account, name))

    def ready(self) -> str | None:
        try:
            self.client.ping()
        except REDIS_FAILURES as exc:
            return f"Redis does not answer ({describe_failure(exc, self.url)})"
        return None

    def describe(self) -> str:
        return f"in Redis at {redact_url(self.url)}"


def describe_failure(exc: BaseException, url: str) -> str:
    """The kind of failure and Redis's words, never the password (even if a message ever quoted the URL)."""
    text = redact_url(str(exc))
    password = _password_in(url)
    if password:
        text = text.replace(password, "***")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _password_in(url: str) -> str | None:
    from urllib.parse import parse_qs, unquote, urlsplit

    try:
        split = urlsplit(url)
        password = split.password or next(iter(parse_qs(split.query).get("password") or []), None)
    except ValueError:
        return None
    return unquote(password) if password else None
