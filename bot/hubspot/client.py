"""HubSpot participations client. It knows nothing of Slack.

One `requests.Session` per client (connections are reused across threads), explicit timeouts, bounded
concurrency, pacing that follows HubSpot's rate-limit headers, and retries that fit a user's patience.
Waits go through injected `sleep`/`clock` so tests never sleep for real.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from bot.hubspot.errors import (
    SEARCH_SCOPE,
    AuthenticationFailed,
    BadRequest,
    ContactNotFound,
    DailyLimitReached,
    HubSpotError,
    MissingScopes,
    RateLimited,
    Unavailable,
    UnexpectedResponse,
    required_scopes_from,
)
from bot.hubspot.models import (
    BreakdownPage,
    MalformedResponse,
    Participation,
    SearchResult,
    State,
    parse_page,
    parse_search,
)
from bot.state import Limit, RateWindow
from bot.state.memory import MemoryRateWindow

if TYPE_CHECKING:  # the client only calls it; importing bot.hubspot stays free of prometheus_client
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

MAX_LIMIT = 100
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
MIN_RATE_LIMIT_WAIT = 0.2  # never retry a 429 sooner than this
MAX_BODY_BYTES = 8 * 1024 * 1024
# HubSpot allows 5 CRM search requests per second per account, and sends no rate-limit headers with them.
SEARCH_REQUESTS_PER_SECOND = 5
SEARCH_PROPERTIES = ("email", "firstname", "lastname", "company")
MAX_SEARCH_QUERY = 100

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How long a user may wait in total, and how we spread retries inside that."""

    max_attempts: int = 4
    budget_seconds: float = 15.0
    base_backoff: float = 0.2
    max_backoff: float = 3.0
    rate_limit_fallback_wait: float = 1.0


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def settle_proxies(session: requests.Session, url: str) -> None:
    """Read proxy settings (HTTPS_PROXY, NO_PROXY…) once, for the one host this session talks to.

    By default requests re-reads the whole environment on every request to find proxies, which was a third of
    the CPU a lookup cost; the settings do not change while the bot runs. (This also stops ~/.netrc from
    silently replacing our Authorization header.)
    """
    session.proxies.update(requests.utils.get_environ_proxies(url))
    session.trust_env = False


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
        remaining = _header_number(headers, "X-HubSpot-RateLimit-Remaining")
        if remaining is None or remaining > self.reserve:
            return
        interval_ms = _header_number(headers, "X-HubSpot-RateLimit-Interval-Milliseconds") or 10_000
        maximum = _header_number(headers, "X-HubSpot-RateLimit-Max") or self.capacity
        spacing = interval_ms / 1000 / max(maximum, 1)
        # The closer to zero, the longer the gap: at 0 left, wait for a few slots to roll off.
        self.pause(spacing * (self.reserve + 1 - remaining))

    def _learn_limit(self, headers: Mapping[str, str]) -> None:
        """Remember (and share) the limit HubSpot advertises, when it differs from the one we know.

        A Professional account (190) then gets its whole window instead of the default's 97, and a setting above
        the account's real limit cannot meet a 429 storm in every burst.
        """
        maximum = _header_number(headers, "X-HubSpot-RateLimit-Max")
        if maximum is None or maximum < 1:
            return
        interval_ms = _header_number(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        limit = Limit(int(maximum), interval_ms / 1000 if interval_ms else self.default_limit.interval)
        with self._lock:
            if limit == self._known:
                return
            self._known, self._known_at = limit, self._clock()
        self.store.learn(limit)
        log.info("HubSpot allows %d requests per %g s; pacing at %d", limit.maximum, limit.interval, self.pacing()[0])


class HubSpotClient:
    def __init__(
        self,
        *,
        url_prefix: str,
        access_token: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 8.0,
        max_concurrency: int = 32,
        requests_per_10s: int | None = None,
        rate_window: RateWindow | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        jitter: Callable[[], float] = random.random,
        session: requests.Session | None = None,
        search_url: str | None = None,
        search_governor: RateGovernor | None = None,
        search_rate_window: RateWindow | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics  # requests by endpoint and status, time spent waiting for the rate limit
        self._url_prefix = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.governor = RateGovernor(requests_per_10s, store=rate_window, clock=clock, sleep=sleep)
        # Search has its own window (5 per second): a burst of name searches never delays a breakdown lookup.
        self.search_governor = search_governor or RateGovernor(
            SEARCH_REQUESTS_PER_SECOND,
            window_seconds=1.0,
            store=search_rate_window,
            clock=clock,
            sleep=sleep,
            reserve=0,
        )
        self._search_url = search_url
        self.session = session or requests.Session()
        settle_proxies(self.session, self._url_prefix)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_concurrency, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "User-Agent": "participations-bot/0.1",
            }
        )

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> HubSpotClient:
        options: dict[str, Any] = {
            "url_prefix": settings.hubspot_breakdown_url_prefix,
            "search_url": settings.hubspot_search_url,
            "access_token": settings.hubspot_access_token,
            "connect_timeout": settings.hubspot_connect_timeout,
            "read_timeout": settings.hubspot_read_timeout,
            "max_concurrency": settings.hubspot_max_concurrency,
            "requests_per_10s": settings.hubspot_requests_per_10s,
            "retry": RetryPolicy(budget_seconds=settings.hubspot_retry_budget_seconds),
        }
        options.update(overrides)
        return cls(**options)

    def close(self) -> None:
        self.session.close()

    def breakdown_url(self, identifier: str) -> str:
        """One path segment, encoded once: `a+b@x.com` stays that email, `../x` stays inside it."""
        return self._url_prefix + quote(identifier, safe="") + "/breakdown"

    def breakdown(
        self,
        identifier: str,
        *,
        state: State | None = None,
        limit: int = 10,
        after: str | None = None,
    ) -> BreakdownPage:
        params: dict[str, str | int] = {"limit": max(1, min(MAX_LIMIT, limit))}
        if state is not None:
            params["state"] = state.value
        if after:
            params["after"] = after
        body, correlation_id = self._get_json(self.breakdown_url(identifier), params, endpoint="breakdown")
        return _parsed(parse_page, body, correlation_id)

    def search_contacts(self, query: str, *, limit: int = 5) -> SearchResult:
        """CRM search by text (names, email, company… by word prefix): how many matched, and the first `limit`.

        Needs the optional scope `crm.objects.contacts.read`; without it HubSpot answers 403, raised as MissingScopes
        naming that scope (lookups by email or id do not need it and keep working).
        """
        if not self._search_url:
            raise UnexpectedResponse("contact search is not configured")
        body = {
            "query": query[:MAX_SEARCH_QUERY],
            "properties": list(SEARCH_PROPERTIES),
            "limit": max(1, min(MAX_LIMIT, limit)),
        }
        try:
            answer, correlation_id = self._request_json(
                self._search_url, endpoint="search", json_body=body, governor=self.search_governor
            )
        except MissingScopes as exc:
            if SEARCH_SCOPE not in exc.required_scopes:  # HubSpot did not say: it is the search scope
                exc.required_scopes = (SEARCH_SCOPE,)
            raise
        return _parsed(parse_search, answer, correlation_id)

    def iter_participations(
        self, identifier: str, *, state: State | None = None, cap: int = 1000
    ) -> Iterator[tuple[BreakdownPage, list[Participation]]]:
        """Every page (100 at a time) until the last one or `cap` records; yields (page, kept records)."""
        after: str | None = None
        seen = 0
        while seen < cap:
            page = self.breakdown(identifier, state=state, limit=MAX_LIMIT, after=after)
            kept = list(page.results[: cap - seen])
            seen += len(kept)
            yield page, kept
            if not page.next_after or not page.results or page.next_after == after:
                return
            after = page.next_after

    # -- transport -------------------------------------------------------------------------------------

    def _get_json(self, url: str, params: Mapping[str, str | int], *, endpoint: str) -> tuple[Any, str | None]:
        """(parsed 200 body, HubSpot's correlation id header) — the id lets a later shape error be traced.

        `endpoint`: a fixed name for the metrics (`breakdown`), never the URL.
        """
        return self._request_json(url, params=params, endpoint=endpoint)

    def _request_json(
        self,
        url: str,
        *,
        endpoint: str,
        params: Mapping[str, str | int] | None = None,
        json_body: Mapping[str, Any] | None = None,
        governor: RateGovernor | None = None,
    ) -> tuple[Any, str | None]:
        """A GET (or a POST of `json_body`) paced by `governor` (the breakdown window unless told otherwise)."""
        deadline = self._clock() + self._retry.budget_seconds
        if not self._slots.acquire(timeout=max(0.0, deadline - self._clock())):
            raise Unavailable("the bot is busy with other HubSpot lookups")
        try:
            return self._get_json_with_retries(
                url, params or {}, deadline, endpoint, json_body=json_body, governor=governor or self.governor
            )
        finally:
            self._slots.release()

    def _backoff(self, attempt: int) -> float:
        ceiling: float = min(self._retry.max_backoff, self._retry.base_backoff * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + float(self._jitter()) / 2)

    def count_request(self, endpoint: str, status: int | str) -> None:
        """One request sent to HubSpot: its HTTP status, or `timeout` / `connection_error`."""
        if self.metrics is not None:
            self.metrics.hubspot_request(endpoint, status)

    def _rate_limit_waited(self, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.rate_limit_waited(seconds)

    def _get_json_with_retries(
        self,
        url: str,
        params: Mapping[str, str | int],
        deadline: float,
        endpoint: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        governor: RateGovernor | None = None,
    ) -> tuple[Any, str | None]:
        governor = governor or self.governor
        attempt = 0
        while True:
            attempt += 1
            queued_at = self._clock()
            acquired = governor.acquire(deadline)
            self._rate_limit_waited(self._clock() - queued_at)
            if not acquired:
                raise RateLimited("waiting for HubSpot's rate limit would take too long")
            remaining = deadline - self._clock()
            # Never above the configured timeout; near the deadline, still long enough for a real answer.
            read_timeout = min(self._read_timeout, max(0.5, remaining))
            try:
                response = self.session.request(
                    "POST" if json_body is not None else "GET",
                    url,
                    params=params,
                    json=json_body,
                    timeout=(self._connect_timeout, read_timeout),
                    allow_redirects=False,
                    stream=True,
                )
                self._read_body(response, deadline)
            except requests.RequestException as exc:
                timed_out = isinstance(exc, requests.Timeout)
                self.count_request(endpoint, "timeout" if timed_out else "connection_error")
                failure: HubSpotError = Unavailable(f"HubSpot {'timed out' if timed_out else 'could not be reached'}")
                wait = self._backoff(attempt)
                log.warning("hubspot request failed (%s), attempt %d", type(exc).__name__, attempt)
            else:
                self.count_request(endpoint, response.status_code)
                governor.observe(response.headers)
                if response.status_code == 200:
                    correlation_id = response.headers.get("X-HubSpot-Correlation-Id")
                    try:
                        return response.json(), correlation_id
                    except ValueError:
                        raise UnexpectedResponse(
                            "HubSpot sent an unexpected response (not JSON)",
                            status=200,
                            correlation_id=correlation_id,
                        ) from None
                failure = error_from_response(response)
                if isinstance(failure, DailyLimitReached) or not _retryable(failure):
                    raise failure
                if isinstance(failure, RateLimited):
                    wait = self._rate_limit_wait(response, attempt, governor)
                    governor.pause(wait)
                else:
                    wait = self._backoff(attempt)
                log.warning(
                    "hubspot answered %s (ref %s), attempt %d", response.status_code, failure.correlation_id, attempt
                )
            if attempt >= self._retry.max_attempts or self._clock() + wait >= deadline:
                raise failure
            if isinstance(failure, RateLimited):
                self._rate_limit_waited(wait)
            self._sleep(wait)

    def _read_body(self, response: requests.Response, deadline: float) -> None:
        """Read the whole body, or give up: past the lookup's deadline (a server dripping bytes resets the read
        timeout with every byte) or past MAX_BODY_BYTES (no page of 100 results comes near it).

        `read1` returns whatever has arrived, so the deadline is checked between small reads; requests'
        `iter_content` would block until a whole chunk (or the end) came in.
        """
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise requests.ConnectionError("HubSpot's answer is larger than any page could be")
                if self._clock() > deadline:
                    raise requests.Timeout("HubSpot's answer is still arriving at the deadline")
        except requests.RequestException:  # ours, above (it is an OSError too: keep this clause first)
            response.close()
            raise
        except ReadTimeoutError as exc:
            response.close()
            raise requests.Timeout(str(exc)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()
            raise requests.ConnectionError(str(exc)) from exc
        response._content = b"".join(chunks)  # what requests itself stores once a streamed body is read

    def _rate_limit_wait(self, response: requests.Response, attempt: int, governor: RateGovernor) -> float:
        """`Retry-After` when HubSpot sends it; else until the rolling window (`Interval-Milliseconds`) has rolled
        past our oldest request in it; else a short doubling backoff.

        Waiting a whole interval from *now* after every 429 would stall each queued user for ten seconds and push
        many past their budget (40 of 200 in the benchmark) when a slot frees within a second or two.
        """
        retry_after = _header_number(response.headers, "Retry-After")
        if retry_after is not None:
            return retry_after
        interval_ms = _header_number(response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if interval_ms is not None:
            return max(MIN_RATE_LIMIT_WAIT, governor.until_window_rolls(interval_ms / 1000))
        if governor is not self.governor:  # search's 429 ("secondly limit") has no headers: its window is known
            return max(MIN_RATE_LIMIT_WAIT, governor.until_window_rolls(governor.window_seconds))
        return float(self._retry.rate_limit_fallback_wait * 2.0 ** (attempt - 1))


Parsed = TypeVar("Parsed")


def _parsed(parse: Callable[[Any], Parsed], body: Any, correlation_id: str | None) -> Parsed:
    """A 200 body in our models; a shape we cannot read is UnexpectedResponse, traceable by its correlation id."""
    try:
        return parse(body)
    except MalformedResponse as exc:
        raise UnexpectedResponse(
            f"HubSpot sent an unexpected response: {exc}", status=200, correlation_id=correlation_id
        ) from None


def _retryable(error: HubSpotError) -> bool:
    return isinstance(error, (Unavailable, RateLimited)) and not isinstance(error, DailyLimitReached)


def error_from_response(response: requests.Response) -> HubSpotError:
    """Map a non-200 answer to our exception tree; every field of the body is optional."""
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    body: Mapping[str, Any] = parsed if isinstance(parsed, Mapping) else {}
    status = response.status_code
    correlation_id = _str(body.get("correlationId")) or response.headers.get("X-HubSpot-Correlation-Id")
    category = _str(body.get("category"))
    message = _str(body.get("message")) or f"HTTP {status}"
    common: dict[str, Any] = {"status": status, "correlation_id": correlation_id, "category": category}
    if status == 404:
        # Only HubSpot's own "no such object" means an unknown contact; any other 404 (an HTML page, a proxy, a
        # wrong HUBSPOT_API_BASE or API version) would otherwise pass for "every contact is unknown".
        if category == "OBJECT_NOT_FOUND":
            return ContactNotFound(message, **common)
        return UnexpectedResponse(f"HubSpot answered HTTP 404 ({category or 'not its contact error'})", **common)
    if status == 400:
        return BadRequest(message, **common)
    if status == 401:
        return AuthenticationFailed(message, **common)
    if status == 403:
        return MissingScopes(message, required_scopes=required_scopes_from(body), **common)
    if status == 429:
        policy = _str(body.get("policyName"))
        retry_after = _header_number(response.headers, "Retry-After")
        if policy and policy.upper() == "DAILY":
            return DailyLimitReached(message, policy=policy, retry_after=retry_after, **common)
        return RateLimited(message, policy=policy, retry_after=retry_after, **common)
    if status in RETRYABLE_STATUSES:
        return Unavailable(message, **common)
    if parsed is None and status >= 500:
        return Unavailable(message, **common)
    return UnexpectedResponse(f"HubSpot answered HTTP {status}", **common)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
