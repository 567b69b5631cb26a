"""Which catalogue language a Slack user reads: their Slack locale, looked up once per TTL and shared."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk.web import WebClient

from bot.i18n import normalise_language
from bot.metrics import Metrics
from bot.slack.web import slack_error_code
from bot.state import LanguageCache
from bot.state.memory import MemoryLanguageCache

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class LocaleResolver:
    """Slack user → catalogue language, via `users.info(include_locale=true)`, cached per user.

    The cache is a `LanguageCache`: this process's memory, or Redis shared by every process, so a user costs one
    users.info per TTL across the whole deployment.
    """

    def __init__(
        self,
        client: WebClient | None,
        default: str,
        ttl: float = 3600.0,
        clock: Clock = time.monotonic,
        max_wait: float = 5.0,
        cache: LanguageCache | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._default = default
        self.max_wait = max_wait
        self._cache = cache or MemoryLanguageCache(ttl, clock=clock)

    def _cached(self, user_id: str) -> str | None:
        return self._cache.get(user_id)

    def known(self, user_id: str | None) -> str:
        """The language already known for this user, else the default: never asks Slack."""
        return (self._cached(user_id) if user_id else None) or self._default

    def start(self, user_id: str | None) -> Callable[[], str]:
        """Begin resolving in the background; the returned function waits (at most `max_wait`) for the language.

        A first-time user's HubSpot lookup then runs while Slack answers users.info, instead of after it. The
        lookup gets its own short-lived thread (once per user per hour), never a pool slot it could wait behind.
        """
        if not user_id or self._client is None:
            return lambda: self._default
        cached = self._cached(user_id)
        if cached is not None:
            return lambda: cached
        found: list[str] = []
        done = threading.Event()

        def resolve() -> None:
            try:
                found.append(self.language_for(user_id))
            finally:
                done.set()

        threading.Thread(target=resolve, name="locale-lookup", daemon=True).start()
        return lambda: found[0] if done.wait(self.max_wait) and found else self._default

    def language_for(self, user_id: str | None) -> str:
        if not user_id or self._client is None:
            return self._default
        cached = self._cached(user_id)
        if cached is not None:
            return cached
        language = self._lookup(user_id)
        self._cache.put(user_id, language)
        return language

    def _lookup(self, user_id: str) -> str:
        assert self._client is not None
        try:
            response = self._client.users_info(user=user_id, include_locale=True)
            locale = (response.get("user") or {}).get("locale")
        except Exception as exc:  # any failure: fall back, never block the answer
            log.info("locale lookup failed for a user (%s); using %s", type(exc).__name__, self._default)
            if self._metrics is not None:
                self._metrics.slack_error("users.info", slack_error_code(exc))
            return self._default
        return normalise_language(locale, self._default) if locale else self._default
