"""What listeners need besides Slack's own objects: built once per app, injectable in tests."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient

from bot.config import Settings
from bot.hubspot.client import HubSpotClient, settle_proxies
from bot.messages import normalise_language

log = logging.getLogger(__name__)
audit_log = logging.getLogger("bot.audit")

Clock = Callable[[], float]


def new_reference() -> str:
    """Our own short request id, shown to users and logged, when HubSpot gives no correlationId."""
    return uuid.uuid4().hex[:10]


def mask_identifier(identifier: str, key: bytes) -> str:
    """A log-safe stand-in for an email or contact id: the same contact always gets the same mask (to follow it
    across lines), but without `key` (derived from this deployment's secrets) no one can test a list of emails
    or ids against the logs. Case-insensitive, as HubSpot's email matching is."""
    normalised = identifier.strip().lower()
    digest = hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{'email' if '@' in normalised else 'id'}#{digest}"


def mask_key(settings: Settings) -> bytes:
    """The key for `mask_identifier`: secrets that never reach the logs, so masks cannot be recomputed from them."""
    secrets = (settings.slack_signing_secret, settings.slack_app_token, settings.slack_bot_token)
    material = "\0".join((*secrets, settings.hubspot_access_token)).encode()
    return hashlib.sha256(b"participations-bot log masks\0" + material).digest()


@dataclass(frozen=True)
class AccessPolicy:
    """Optional allow-lists; an empty list lets everyone in."""

    user_ids: frozenset[str] = frozenset()
    channel_ids: frozenset[str] = frozenset()
    team_ids: frozenset[str] = frozenset()

    def allows(self, user_id: str | None, channel_id: str | None, team_id: str | None) -> bool:
        return all(
            not allowed or (value is not None and value in allowed)
            for allowed, value in (
                (self.user_ids, user_id),
                (self.channel_ids, channel_id),
                (self.team_ids, team_id),
            )
        )


class ClickGuard:
    """De-duplicates button clicks within this process: the first claim of a key wins for `ttl` seconds.

    Several processes do not share this set; the button is removed after the first click, which covers
    sequential clicks anywhere, but two simultaneous clicks landing on two processes could both post.
    """

    def __init__(self, ttl: float = 600.0, clock: Clock = time.monotonic, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._claims: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: Hashable) -> bool:
        with self._lock:
            now = self._clock()
            expiry = self._claims.get(key)
            if expiry is not None and expiry > now:
                return False
            self._claims.pop(key, None)  # re-inserted last: the dict stays in expiry order
            self._claims[key] = now + self._ttl
            _expire_oldest(self._claims, now, lambda expiry: expiry, self._max_entries)
            return True

    def release(self, key: Hashable) -> None:
        """Let the user try again after a failure."""
        with self._lock:
            self._claims.pop(key, None)


def _expire_oldest(entries: dict[Any, Any], now: float, expiry_of: Callable[[Any], float], limit: int) -> None:
    """Drop expired entries, and the oldest beyond `limit`, from the front of an expiry-ordered dict.

    Entries share one TTL and are (re-)inserted at the end, so the oldest come first: the work is proportional to
    what is dropped, never a copy of the whole dict per call (which, with thousands of live entries, churned the
    allocator by hundreds of KB per click and grew the process: README, Performance).
    """
    while entries:
        oldest = next(iter(entries))
        if expiry_of(entries[oldest]) > now and len(entries) <= limit:
            return
        del entries[oldest]


Edit = tuple[str, str, str]  # (action_id of the retired button, note shown instead, block-id suffix)


class RetiredButtons:
    """The buttons already retired on each message (in this process), so two retirements racing on one message
    (Summary and Export clicked together) each keep the other's edit instead of undoing it.

    Each click carries the message as it was when clicked; replacing it with that copy minus one button would
    bring back a button another click had just removed. Edits on one message are applied in order, under a lock.
    """

    def __init__(self, ttl: float = 600.0, clock: Clock = time.monotonic, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._edits: dict[Hashable, tuple[float, list[Edit], threading.Lock]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def editing(self, message: Hashable, edit: Edit) -> Iterator[list[Edit]]:
        """Every edit of `message` so far, this one last; hold it while posting the replacement."""
        with self._lock:
            now = self._clock()
            entry = self._edits.get(message)
            if entry is None or entry[0] <= now:
                self._edits.pop(message, None)  # re-inserted last: the dict stays in expiry order
                entry = (now + self._ttl, [], threading.Lock())
                self._edits[message] = entry
                _expire_oldest(self._edits, now, lambda entry: entry[0], self._max_entries)
            _, edits, message_lock = entry
        with message_lock:
            if edit not in edits:
                edits.append(edit)
            yield list(edits)


class LocaleResolver:
    """Slack user → catalogue language, via `users.info(include_locale=true)`, cached per user."""

    def __init__(
        self,
        client: WebClient | None,
        default: str,
        ttl: float = 3600.0,
        clock: Clock = time.monotonic,
        max_wait: float = 5.0,
    ) -> None:
        self._client = client
        self._default = default
        self._ttl = ttl
        self._clock = clock
        self.max_wait = max_wait
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _cached(self, user_id: str) -> str | None:
        with self._lock:
            cached = self._cache.get(user_id)
        return cached[1] if cached is not None and cached[0] > self._clock() else None

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
        now = self._clock()
        language = self._lookup(user_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[user_id] = (now + self._ttl, language)
        return language

    def _lookup(self, user_id: str) -> str:
        assert self._client is not None
        try:
            response = self._client.users_info(user=user_id, include_locale=True)
            locale = (response.get("user") or {}).get("locale")
        except Exception as exc:  # any failure: fall back, never block the answer
            log.info("locale lookup failed for a user (%s); using %s", type(exc).__name__, self._default)
            return self._default
        return normalise_language(locale, self._default) if locale else self._default


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Slack's 429 handler, honouring `Retry-After` only while it is short enough for a user to wait.

    slack_sdk's own handler sleeps whatever Slack asks (a blocked worker for a minute); past `max_wait` we give up
    and let the caller fall back (response_url) or explain.
    """

    def __init__(self, max_retry_count: int = 2, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        for name, values in response.headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(values[0]) <= self.max_wait
                except (ValueError, IndexError, TypeError):
                    return False
        return True


def slack_retry_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetryHandler(max_retry_count=2), BoundedRateLimitRetryHandler(max_retry_count=2)]


RESPONSE_URL_HOST = "https://hooks.slack.com/"  # where Slack's response URLs live (for proxy settings)


class Responder:
    """Posts to response URLs with a timeout and retries, and logs a non-2xx answer instead of dropping it.

    One pooled `requests.Session` serves every response URL (they all live on hooks.slack.com), so a reply
    reuses a kept-alive connection instead of paying a new TCP + TLS handshake per post, as a fresh
    `WebhookClient` per post did. Retries match what that client did: connection failures, and 429s after
    `Retry-After` (bounded by the timeout, so nothing hangs).
    """

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        pool_size: int = 16,
        max_retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep
        self._session = requests.Session()
        settle_proxies(self._session, RESPONSE_URL_HOST)
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "participations-bot/0.1"

    def close(self) -> None:
        self._session.close()

    def post(self, response_url: str | None, message: dict[str, Any]) -> bool:
        if not response_url:
            log.warning("no response_url to answer with; message dropped")
            return False
        attempt = 0
        while True:
            attempt += 1
            retry_in: float | None = None
            try:
                response = self._session.post(response_url, json=message, timeout=self._timeout, allow_redirects=False)
            except requests.ConnectionError as exc:  # refused, reset, or a kept-alive connection gone stale
                if attempt > self._max_retries:
                    log.error("response_url post failed: %s", type(exc).__name__)
                    return False
                retry_in = 0.2 * attempt
            except requests.RequestException as exc:  # a read timeout: Slack may have posted it, do not repeat
                log.error("response_url post failed: %s", type(exc).__name__)
                return False
            else:
                if 200 <= response.status_code < 300:
                    return True
                if response.status_code != 429 or attempt > self._max_retries:
                    log.error("response_url answered %s: %s", response.status_code, response.text[:200])
                    return False
                retry_in = min(self._timeout, _seconds(response.headers.get("Retry-After"), default=1.0))
            log.info("response_url post: retrying in %.1f s (attempt %d)", retry_in, attempt)
            self._sleep(retry_in)


def _seconds(raw: str | None, default: float) -> float:
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 0 else default


def make_web_client(settings: Settings, *, with_token: bool = True) -> WebClient:
    """A Web API client at SLACK_API_URL that retries connection errors and honours Slack's Retry-After."""
    return WebClient(
        token=(settings.slack_bot_token or None) if with_token else None,
        base_url=settings.slack_api_url,
        timeout=max(1, round(settings.slack_timeout)),
        retry_handlers=slack_retry_handlers(),
    )


@dataclass
class Services:
    settings: Settings
    hubspot: HubSpotClient
    responder: Responder
    locales: LocaleResolver
    access: AccessPolicy
    background: ThreadPoolExecutor  # where every lookup runs after its ack
    clicks: ClickGuard = field(default_factory=ClickGuard)
    retired: RetiredButtons = field(default_factory=RetiredButtons)
    mask_key: bytes = b""  # keys the contact masks in the audit log (see mask_identifier)
    clock: Clock = time.monotonic

    def contact_url(self, contact_id: str | None) -> str | None:
        """Link to the contact's HubSpot record when the portal is configured."""
        if not contact_id or not self.settings.hubspot_portal_id or not contact_id.isdigit():
            return None
        base = self.settings.hubspot_app_base.rstrip("/")
        return f"{base}/contacts/{self.settings.hubspot_portal_id}/record/0-1/{contact_id}"

    def audit(
        self,
        kind: str,
        *,
        body: dict[str, Any],
        identifier: str | None,
        state: str | None,
        page: int | None,
        outcome: str,
        started: float,
        reference: str,
    ) -> None:
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
        audit_log.info(
            "%s user=%s channel=%s contact=%s state=%s page=%s outcome=%s latency_ms=%d ref=%s",
            kind,
            user,
            channel,
            mask_identifier(identifier, self.mask_key) if identifier else "-",
            state or "any",
            page if page is not None else "-",
            outcome,
            (self.clock() - started) * 1000,
            reference,
            extra={
                "audit": {
                    "kind": kind,
                    "user": user,
                    "channel": channel,
                    "contact": mask_identifier(identifier, self.mask_key) if identifier else None,
                    "state": state,
                    "page": page,
                    "outcome": outcome,
                    "reference": reference,
                }
            },
        )


def build_services(settings: Settings, *, web_client: WebClient | None = None, **overrides: Any) -> Services:
    hubspot = overrides.pop("hubspot", None) or HubSpotClient.from_settings(settings)
    return Services(
        settings=settings,
        hubspot=hubspot,
        responder=overrides.pop("responder", None)
        or Responder(timeout=settings.slack_timeout, pool_size=settings.listener_workers),
        locales=overrides.pop("locales", None)
        or LocaleResolver(web_client if settings.slack_bot_token else None, settings.default_language),
        access=AccessPolicy(settings.allowed_user_ids, settings.allowed_channel_ids, settings.allowed_team_ids),
        background=overrides.pop("background", None) or prestarted_pool(settings.listener_workers),
        mask_key=mask_key(settings),
        **overrides,
    )


def prestarted_pool(workers: int) -> ThreadPoolExecutor:
    """A pool whose threads all exist before the first request.

    ThreadPoolExecutor starts threads on demand, and `submit` waits for each new thread to come up: inside a burst
    that wait lands on the request thread, in front of the ack (2.3 ms instead of 0.7 ms per ack, measured).
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="participations-worker")
    started = threading.Barrier(workers + 1)
    for _ in range(workers):
        pool.submit(started.wait, 10)
    started.wait(10)
    return pool
