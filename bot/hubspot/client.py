"""HubSpot participations client. It knows nothing of Slack.

One `requests.Session` per client (connections are reused across threads), explicit timeouts, bounded
concurrency, pacing that follows HubSpot's rate-limit headers, and retries that fit a user's patience.
Waits go through injected `sleep`/`clock` so tests never sleep for real. Beside it: pacing.py (the shared
window), errors.py (the exception tree and the answer → exception map), session.py, models.py. Over 300 lines
because the public calls and the one retry loop they share (attempts, deadline-bounded body reads, 429 waits)
read best together.
"""

from __future__ import annotations

import logging
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
    DailyLimitReached,
    HubSpotError,
    MissingScopes,
    RateLimited,
    Unavailable,
    UnexpectedResponse,
    error_from_response,
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
from bot.hubspot.pacing import RateGovernor
from bot.hubspot.session import header_number, settle_proxies
from bot.state import RateWindow

if TYPE_CHECKING:  # the client only calls it; importing bot.hubspot stays free of prometheus_client
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

MAX_LIMIT = 100
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
        retry_after = header_number(response.headers, "Retry-After")
        if retry_after is not None:
            return retry_after
        interval_ms = header_number(response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
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
