"""HubSpot faults at the client level, against the loopback FakeHubSpot (real HTTP, injected time)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from bot.config import load_settings
from bot.hubspot.client import HubSpotClient, RetryPolicy
from bot.hubspot.errors import (
    REQUIRED_SCOPE,
    AuthenticationFailed,
    BadRequest,
    ContactNotFound,
    DailyLimitReached,
    MissingScopes,
    RateLimited,
    Unavailable,
    UnexpectedResponse,
)
from tests.conftest import VirtualTime
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.tokens import HUBSPOT_TOKEN

EMAIL = "jane@example.com"
E = TypeVar("E", bound=Exception)


def rate_limit_body(policy: str | None = "TEN_SECONDLY_ROLLING", correlation_id: str = "corr-429") -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": "You have reached your limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "groupName": "group",
        "requestId": "req-1",
    }
    if policy is not None:
        body["policyName"] = policy
    return body


def error_body(label: str, correlation_id: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "message": f"{label} happened", "correlationId": correlation_id, **extra}


def breakdown_error(client: HubSpotClient, fake_hubspot: FakeHubSpot, expected: type[E], *answers: Scripted) -> E:
    """The `expected` error `breakdown` raises once HubSpot answers with `answers`."""
    fake_hubspot.script(*answers)
    with pytest.raises(expected) as caught:
        client.breakdown(EMAIL)
    return caught.value


@pytest.fixture
def client(make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot) -> HubSpotClient:
    fake_hubspot.add_contact([participation(1), participation(2)], EMAIL)
    return make_client()


# -- 429 TEN_SECONDLY_ROLLING ------------------------------------------------------------------------------


INTERVAL = "X-HubSpot-RateLimit-Interval-Milliseconds"


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param({"Retry-After": "2", INTERVAL: "10000"}, 2.0, id="retry-after-wins-over-the-interval"),
        pytest.param({INTERVAL: "4000"}, 4.0, id="no-retry-after-waits-the-interval"),
        # A header date in Retry-After is not understood: the interval header is the fallback.
        pytest.param({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT", INTERVAL: "1500"}, 1.5, id="date-retry-after"),
    ],
)
def test_a_429_is_waited_out_as_its_headers_say_then_succeeds(
    client: HubSpotClient, fake_hubspot: FakeHubSpot, vtime: VirtualTime, headers: dict[str, str], wait: float
) -> None:
    fake_hubspot.script(Scripted(429, rate_limit_body(), headers))
    page = client.breakdown(EMAIL)
    assert len(page.results) == 2
    assert len(fake_hubspot.calls) == 2
    assert vtime.sleeps == [wait]


def test_429_without_any_header_or_policy_uses_a_short_backoff(
    client: HubSpotClient, fake_hubspot: FakeHubSpot, vtime: VirtualTime
) -> None:
    fake_hubspot.script(Scripted(429, rate_limit_body(policy=None)))
    client.breakdown(EMAIL)
    assert len(fake_hubspot.calls) == 2
    assert len(vtime.sleeps) == 1
    assert 0 < vtime.sleeps[0] <= 2.0


def test_persistent_429_gives_up_inside_the_budget(
    client: HubSpotClient, fake_hubspot: FakeHubSpot, vtime: VirtualTime
) -> None:
    started = vtime.clock()
    fake_hubspot.script(*[Scripted(429, rate_limit_body(), {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})] * 5)
    with pytest.raises(RateLimited) as caught:
        client.breakdown(EMAIL)
    assert not isinstance(caught.value, DailyLimitReached)
    assert caught.value.correlation_id == "corr-429"
    assert caught.value.policy == "TEN_SECONDLY_ROLLING"
    # One 10 s wait fits the 15 s budget; a second would not, so it stops after two calls.
    assert len(fake_hubspot.calls) == 2
    assert vtime.clock() - started <= RetryPolicy().budget_seconds


def test_429_with_a_retry_after_beyond_the_budget_is_not_waited_for(
    client: HubSpotClient, fake_hubspot: FakeHubSpot, vtime: VirtualTime
) -> None:
    fake_hubspot.script(Scripted(429, rate_limit_body(), {"Retry-After": "3600"}))
    with pytest.raises(RateLimited):
        client.breakdown(EMAIL)
    assert len(fake_hubspot.calls) == 1
    assert vtime.sleeps == []


def test_short_429s_stop_at_max_attempts(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.script(*[Scripted(429, rate_limit_body(), {"Retry-After": "1"})] * 10)
    with pytest.raises(RateLimited):
        client.breakdown(EMAIL)
    assert len(fake_hubspot.calls) == RetryPolicy().max_attempts


def test_fake_rate_limit_enforcement_is_absorbed_by_pacing_and_retries(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    """The fake's real 10-request window: a burst of 15 lookups all succeed, paced by the governor."""
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_hubspot.rate_limit = (10, 0.5)
    client = make_client(requests_per_10s=1000, sleep=time.sleep, clock=time.monotonic)
    started = time.monotonic()
    for _ in range(15):
        assert client.breakdown(EMAIL).results
    assert time.monotonic() - started < 10


# -- 429 DAILY -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "1"}])
def test_daily_429_is_never_retried(
    client: HubSpotClient, fake_hubspot: FakeHubSpot, vtime: VirtualTime, headers: dict[str, str]
) -> None:
    fake_hubspot.script(Scripted(429, rate_limit_body(policy="DAILY", correlation_id="corr-daily"), headers))
    with pytest.raises(DailyLimitReached) as caught:
        client.breakdown(EMAIL)
    assert caught.value.correlation_id == "corr-daily"
    assert len(fake_hubspot.calls) == 1
    assert vtime.sleeps == []


# -- 5xx and connection errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_then_succeeds(client: HubSpotClient, fake_hubspot: FakeHubSpot, status: int) -> None:
    fake_hubspot.script(Scripted(status, error_body("INTERNAL", "corr-5xx")), Scripted(status, None))
    assert client.breakdown(EMAIL).results
    assert len(fake_hubspot.calls) == 3


def test_5xx_backoff_is_exponential_jittered_and_bounded_by_attempts(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, vtime: VirtualTime
) -> None:
    jitters = iter([0.0, 1.0, 0.5, 0.25])
    client = make_client(jitter=lambda: next(jitters))
    fake_hubspot.script(*[Scripted(503, error_body("UNAVAILABLE", "corr-503"))] * 10)
    with pytest.raises(Unavailable) as caught:
        client.breakdown(EMAIL)
    assert caught.value.correlation_id == "corr-503"
    policy = RetryPolicy()
    assert len(fake_hubspot.calls) == policy.max_attempts
    # ceiling = base × 2^(n-1); the wait is ceiling × (0.5 + jitter/2), so within [ceiling/2, ceiling].
    ceilings = [policy.base_backoff * 2**n for n in range(policy.max_attempts - 1)]
    expected = [c * (0.5 + j / 2) for c, j in zip(ceilings, [0.0, 1.0, 0.5], strict=True)]
    assert vtime.sleeps == pytest.approx(expected)


def test_5xx_retries_stop_when_the_budget_is_spent(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot, vtime: VirtualTime
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=50, budget_seconds=5.0, base_backoff=1.0, max_backoff=2.0))
    started = vtime.clock()
    fake_hubspot.script(*[Scripted(502, None, raw=b"<html>Bad gateway</html>")] * 60)
    with pytest.raises(Unavailable):
        client.breakdown(EMAIL)
    assert vtime.clock() - started < 5.0
    assert all(wait <= 2.0 for wait in vtime.sleeps)
    assert 2 <= len(fake_hubspot.calls) < 10


def test_a_dropped_connection_is_retried(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.script(Scripted(drop=True))
    assert client.breakdown(EMAIL).results
    assert len(fake_hubspot.calls) == 2


def test_connection_refused_is_retried_then_unavailable(
    make_client: Callable[..., HubSpotClient], vtime: VirtualTime
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(url_prefix=f"http://127.0.0.1:{port}/contacts/")
    with pytest.raises(Unavailable) as caught:
        client.breakdown(EMAIL)
    assert "could not be reached" in caught.value.message
    assert len(vtime.sleeps) == RetryPolicy().max_attempts - 1


# -- hangs ---------------------------------------------------------------------------------------------


def test_a_hang_becomes_a_read_timeout_and_retries(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.add_contact([participation(1)], EMAIL)
    client = make_client(read_timeout=0.3)
    fake_hubspot.script(Scripted(200, {"total": 0, "results": []}, delay=2.0))
    started = time.monotonic()
    page = client.breakdown(EMAIL)  # the second attempt is answered at once
    assert page.results
    assert time.monotonic() - started < 1.5
    assert len(fake_hubspot.calls) == 2


def real_time_client(make_client: Callable[..., HubSpotClient]) -> HubSpotClient:
    """Real clock and real sleeps, scaled down: a 1 s budget and 0.4 s read timeouts."""
    return make_client(
        read_timeout=0.4,
        retry=RetryPolicy(budget_seconds=1.0, base_backoff=0.05),
        sleep=time.sleep,
        clock=time.monotonic,
    )


def test_a_hanging_hubspot_is_answered_within_the_budget_in_real_time(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    """Real clock, real sleeps, scaled down: the whole lookup ends within budget + one connect/read slack."""
    fake_hubspot.add_contact([participation(1)], EMAIL)
    fake_hubspot.latency = 3.0
    client = real_time_client(make_client)
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        client.breakdown(EMAIL)
    elapsed = time.monotonic() - started
    assert "timed out" in caught.value.message
    # The last attempt may start just before the deadline and then wait one read timeout (0.4 s).
    assert elapsed < 1.0 + 0.4 + 0.4
    assert len(fake_hubspot.calls) >= 2


def test_an_answer_dripping_in_byte_by_byte_is_cut_off_at_the_deadline(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    """Each byte resets the read timeout; only the lookup's own deadline stops a slow drip."""
    fake_hubspot.add_contact([participation(1)], EMAIL)
    dripping = Scripted(200, {"total": 1, "results": [participation(1)]}, drip=0.05)
    fake_hubspot.script(*[dripping] * 4)
    client = real_time_client(make_client)
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        client.breakdown(EMAIL)
    assert "timed out" in caught.value.message
    assert time.monotonic() - started < 1.0 + 0.4 + 0.4


def test_a_server_that_never_accepts_hits_the_connect_timeout(
    make_client: Callable[..., HubSpotClient], vtime: VirtualTime
) -> None:
    """A full accept queue on loopback: the TCP handshake never completes, as with a black-holed host."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(4)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))  # non-blocking: EINPROGRESS is expected
            time.sleep(0.05)
            client = make_client(url_prefix=f"http://127.0.0.1:{port}/contacts/", connect_timeout=0.2)
            started = time.monotonic()
            with pytest.raises(Unavailable) as caught:
                client.breakdown(EMAIL)
            elapsed = time.monotonic() - started
        finally:
            for filler in fillers:
                filler.close()
    assert "timed out" in caught.value.message
    assert len(vtime.sleeps) == RetryPolicy().max_attempts - 1  # retried like any transient failure
    assert elapsed < RetryPolicy().max_attempts * 0.2 + 1.0


def test_production_defaults_bound_the_worst_case_wait() -> None:
    """Budget + one last read timeout + connect timeout stays under the ≈ 20 s a user will wait.

    The production values are the settings' defaults (the client is built from settings), not the client's own.
    """
    settings = load_settings({}, dotenv=False)
    worst = settings.hubspot_retry_budget_seconds + settings.hubspot_connect_timeout + 0.5
    assert worst <= 20
    assert settings.hubspot_read_timeout <= settings.hubspot_retry_budget_seconds


# -- 4xx: never retried --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            error_body(
                "VALIDATION_ERROR",
                "corr-400",
                category="VALIDATION_ERROR",
                message="State value should be one of REGISTERED, CANCELLED, ATTENDED, NO_SHOW",
            ),
            BadRequest,
        ),
        (
            401,
            error_body("INVALID_AUTHENTICATION", "corr-401", category="INVALID_AUTHENTICATION"),
            AuthenticationFailed,
        ),
        (
            401,
            error_body(
                "EXPIRED_AUTHENTICATION",
                "corr-401",
                category="EXPIRED_AUTHENTICATION",
                message="The OAuth token used to make this call expired 5 second(s) ago.",
            ),
            AuthenticationFailed,
        ),
        (403, error_body("MISSING_SCOPES", "corr-403", category="MISSING_SCOPES"), MissingScopes),
        (404, error_body("OBJECT_NOT_FOUND", "corr-404", category="OBJECT_NOT_FOUND"), ContactNotFound),
    ],
)
def test_client_errors_are_never_retried(
    client: HubSpotClient,
    fake_hubspot: FakeHubSpot,
    vtime: VirtualTime,
    status: int,
    body: dict[str, Any],
    expected: type[Exception],
) -> None:
    fake_hubspot.script(Scripted(status, body, {"Retry-After": "1"}))
    with pytest.raises(expected) as caught:
        client.breakdown(EMAIL)
    assert len(fake_hubspot.calls) == 1
    assert vtime.sleeps == []
    error = caught.value
    assert getattr(error, "status", None) == status
    assert getattr(error, "correlation_id", None) == body["correlationId"]
    assert getattr(error, "category", None) == body.get("category")


def test_a_wrong_token_is_a_401_from_the_fake(
    make_client: Callable[..., HubSpotClient], fake_hubspot: FakeHubSpot
) -> None:
    client = make_client(access_token="not-the-token")
    with pytest.raises(AuthenticationFailed):
        client.breakdown(EMAIL)
    assert len(fake_hubspot.calls) == 1


def test_required_scopes_from_errors_context(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    body = error_body(
        "MISSING_SCOPES",
        "corr-403",
        category="MISSING_SCOPES",
        errors=[
            "not a mapping",
            {"message": "x", "context": {"requiredScopes": ["crm.objects.marketing_events.read"]}},
            {"message": "y", "context": {"requiredGranularScopes": "crm.objects.contacts.read"}},
        ],
    )
    fake_hubspot.script(Scripted(403, body))
    with pytest.raises(MissingScopes) as caught:
        client.breakdown(EMAIL)
    assert caught.value.required_scopes == ("crm.objects.marketing_events.read", "crm.objects.contacts.read")


def test_required_scopes_from_top_level_context(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    body = error_body("MISSING_SCOPES", "corr-403", context={"requiredScopes": ["scope.a", 7, "scope.b"]})
    fake_hubspot.script(Scripted(403, body))
    with pytest.raises(MissingScopes) as caught:
        client.breakdown(EMAIL)
    assert caught.value.required_scopes == ("scope.a", "scope.b")


def test_a_403_without_scopes_names_the_one_we_need(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.script(Scripted(403, {"errors": None, "context": "nope"}))
    with pytest.raises(MissingScopes) as caught:
        client.breakdown(EMAIL)
    assert caught.value.required_scopes == (REQUIRED_SCOPE,)


# -- bodies we cannot read -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        Scripted(200, None, raw=b'{"total": 1, "results": [', headers={"Content-Type": "application/json"}),
        Scripted(200, None, raw=b"<!DOCTYPE html><html><body>Maintenance</body></html>"),
        Scripted(200, {"total": 3}),
        Scripted(200, {"total": 3, "results": "nope"}),
        Scripted(200, ["results"]),
        Scripted(200, None),
        Scripted(302, None, raw=b"<html>moved</html>", headers={"Location": "https://login.example"}),
        Scripted(418, {"weird": True}),
    ],
    ids=["truncated-json", "html-page", "missing-results", "results-not-list", "array", "null", "redirect", "418"],
)
def test_unreadable_answers_are_unexpected_responses_and_not_retried(
    client: HubSpotClient, fake_hubspot: FakeHubSpot, answer: Scripted
) -> None:
    answer.headers = {**answer.headers, "X-HubSpot-Correlation-Id": "corr-hdr"}
    fake_hubspot.script(answer)
    with pytest.raises(UnexpectedResponse) as caught:
        client.breakdown(EMAIL)
    assert caught.value.correlation_id == "corr-hdr"
    assert len(fake_hubspot.calls) == 1


def test_an_html_5xx_page_from_a_proxy_is_treated_as_transient(
    client: HubSpotClient, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.script(Scripted(502, None, raw=b"<html><h1>502 Bad Gateway</h1></html>"))
    assert client.breakdown(EMAIL).results
    assert len(fake_hubspot.calls) == 2


# -- defensive error bodies and correlation ids ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [None, [], "text", 5, {}, {"message": 5, "correlationId": ["x"], "policyName": {"a": 1}, "category": 3}],
    ids=["null", "list", "string", "number", "empty", "wrong-types"],
)
def test_error_bodies_with_missing_or_odd_fields(client: HubSpotClient, fake_hubspot: FakeHubSpot, body: Any) -> None:
    hdr = {"X-HubSpot-Correlation-Id": "corr-hdr-404"}
    error = breakdown_error(client, fake_hubspot, UnexpectedResponse, Scripted(404, body, hdr))
    # Without HubSpot's OBJECT_NOT_FOUND this is not "unknown contact" (a proxy, a wrong base URL or version).
    assert not isinstance(error, ContactNotFound)
    assert error.correlation_id == "corr-hdr-404"
    assert error.status == 404

    rate_limited = breakdown_error(client, fake_hubspot, RateLimited, *[Scripted(429, body, {"Retry-After": "0"})] * 4)
    assert not isinstance(rate_limited, DailyLimitReached)


def test_only_hubspots_object_not_found_means_an_unknown_contact(
    client: HubSpotClient, fake_hubspot: FakeHubSpot
) -> None:
    not_found = Scripted(404, {"status": "error", "category": "OBJECT_NOT_FOUND", "correlationId": "c1"})
    breakdown_error(client, fake_hubspot, ContactNotFound, not_found)
    html = Scripted(404, None, raw=b"<html>Not Found</html>")
    error = breakdown_error(client, fake_hubspot, UnexpectedResponse, html)
    assert not isinstance(error, ContactNotFound)


def test_429_body_without_category_keeps_policy_and_correlation(
    client: HubSpotClient, fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.script(Scripted(429, rate_limit_body(policy="daily", correlation_id="corr-d")))
    with pytest.raises(DailyLimitReached) as caught:
        client.breakdown(EMAIL)
    assert caught.value.category is None
    assert caught.value.policy == "daily"
    assert caught.value.correlation_id == "corr-d"


def test_body_correlation_id_wins_over_the_header(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.script(
        Scripted(401, error_body("INVALID_AUTHENTICATION", "corr-body"), {"X-HubSpot-Correlation-Id": "corr-hdr"})
    )
    with pytest.raises(AuthenticationFailed) as caught:
        client.breakdown(EMAIL)
    assert caught.value.correlation_id == "corr-body"


def test_the_token_travels_only_in_the_authorization_header(client: HubSpotClient, fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.unknown_contacts_404 = False
    client.breakdown("a+b/../x@example.com")
    call = fake_hubspot.calls[-1]
    assert call.headers["Authorization"] == f"Bearer {HUBSPOT_TOKEN}"
    assert HUBSPOT_TOKEN not in call.raw_path
    assert call.raw_path.endswith("/a%2Bb%2F..%2Fx%40example.com/breakdown")
