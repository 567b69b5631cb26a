"""Prometheus metrics: every series the bot exports, defined here once, with bounded label values only.

One `Metrics` per process, handed to the listeners (through `Runtime`) and to the HubSpot client, so tests build
isolated ones. Under `serve` it runs in prometheus_client's multiprocess mode: each gunicorn worker writes its
values to its own files in a directory the master created before forking (`PROMETHEUS_MULTIPROC_DIR`), and a
scrape, whichever worker answers it, adds up every worker's files: one count for the whole server.

No label ever holds a user id, channel id, email, contact id, token or URL: outcomes, buttons and kinds come from
fixed lists, HubSpot statuses are HTTP codes, and Slack's error codes are kept only when they look like one.
Over 300 lines on purpose: every series and its bounded labels in one file is what lets a reviewer check that.
"""

from __future__ import annotations

import hmac
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

METRICS_PATH = "/metrics"
# prometheus_client's own variable: the directory where each process of a multiprocess server writes its values.
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

KINDS = ("command", "click", "shortcut")
BUTTONS = ("next", "summary", "export", "choose")
# What a command or click ended in, as an operator reads it (README: Operating it).
OUTCOMES = (
    "ok",
    "empty",
    "not_found",
    "denied",
    "help",
    "invalid",
    "duplicate",
    "not_here",
    "no_match",
    "choice",
    "no_email",
    "private",
    "rate_limited",
    "hubspot_error",
    "slack_error",
    "internal_error",
    "other",
)
# The audit log's outcomes (exception names, `slack_<code>`…) folded into OUTCOMES.
_AUDIT_TO_OUTCOME = {
    "ok": "ok",
    "empty": "empty",
    "denied": "denied",
    "help": "help",
    "bad_input": "invalid",
    "duplicate_click": "duplicate",
    "not_here": "not_here",
    "no_match": "no_match",
    "choice": "choice",
    "no_email": "no_email",
    "search_scope_missing": "hubspot_error",
    "post_failed": "slack_error",
    "internal_error": "internal_error",
    "ContactNotFound": "not_found",
    "RateLimited": "rate_limited",
    "DailyLimitReached": "rate_limited",
    "AuthenticationFailed": "hubspot_error",
    "MissingScopes": "hubspot_error",
    "BadRequest": "hubspot_error",
    "Unavailable": "hubspot_error",
    "UnexpectedResponse": "hubspot_error",
    "HubSpotError": "hubspot_error",
}
# Acks take about a millisecond; Slack gives up at 3 s. Lookups take HubSpot's time, retries up to the budget (15 s),
# and summaries or exports read up to ten pages.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0)
LOOKUP_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0)

_SLACK_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def outcome_label(audit_outcome: str) -> str:
    """The bounded `outcome` label for an audit-log outcome."""
    if audit_outcome.startswith("slack_"):
        return "slack_error"
    if audit_outcome.startswith("private_"):  # the bot could not post in the channel: only the user was answered
        return "private"
    return _AUDIT_TO_OUTCOME.get(audit_outcome, "other")


def slack_error_label(error: str) -> str:
    """Slack's error codes are short snake_case words; anything else (a body, a URL) becomes `other`."""
    return error if _SLACK_ERROR_CODE.fullmatch(error) else "other"


def hubspot_status_label(status: int | str) -> str:
    """An HTTP status code, or `timeout` / `connection_error`."""
    if isinstance(status, int):
        return str(status) if 100 <= status <= 599 else "other"
    return status if status in {"timeout", "connection_error"} else "other"


class _Request(threading.local):
    """What the WSGI layer and the ack listener share about the request this thread is answering."""

    arrival: float | None = None
    kind: str | None = None


_Series = TypeVar("_Series", bound=MetricWrapperBase)


class Metrics:
    """Every metric, and the few calls that record them (each a few microseconds: none waits on I/O).

    `multiprocess_dir`: the directory of prometheus_client's multiprocess mode (gunicorn workers); without it the
    values live in this object's own registry (Socket Mode, tests).
    """

    def __init__(self, *, multiprocess_dir: str | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        owner: CollectorRegistry | None = self.registry
        if multiprocess_dir is not None:
            os.environ[MULTIPROC_DIR_VARIABLE] = multiprocess_dir  # where prometheus_client writes the values
            if not getattr(values.ValueClass, "_multiprocess", False):
                # prometheus_client picks its value class when first imported: if that happened before the master
                # set the directory, pick again now, before any metric exists (as prometheus_client's own tests do).
                values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
            MultiProcessCollector(self.registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
            owner = None  # values live in the workers' files; the collector above reads them all
        self._owner = owner
        series = self._series
        self.commands = series(Counter, "participations_commands", "Slash commands answered, by outcome.", ["outcome"])
        self.shortcuts = series(
            Counter, "participations_shortcuts", "Uses of the message shortcut answered, by outcome.", ["outcome"]
        )
        self.clicks = series(
            Counter, "participations_clicks", "Button clicks answered, by button and outcome.", ["button", "outcome"]
        )
        self.ack_seconds = series(
            Histogram,
            "participations_ack_seconds",
            "Request arrival to HTTP response (the ack Slack waits 3 s for), by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
        )
        self.lookup_seconds = series(
            Histogram,
            "participations_lookup_seconds",
            "Request arrival to the bot's answer posted in Slack, by kind.",
            ["kind"],
            buckets=LOOKUP_BUCKETS,
        )
        self.hubspot_requests = series(
            Counter,
            "participations_hubspot_requests",
            "Requests sent to HubSpot (each retry counts), by endpoint and HTTP status, timeout or connection_error.",
            ["endpoint", "status"],
        )
        self.rate_limit_wait = series(
            Counter,
            "participations_hubspot_rate_limit_wait_seconds",
            "Seconds lookups spent waiting for HubSpot's rate limit (our pacing, and Retry-After after a 429).",
        )
        self.slack_errors = series(
            Counter,
            "participations_slack_errors",
            "Failed calls to Slack, by method and Slack's error code.",
            ["method", "error"],
        )
        self.in_flight = series(
            Gauge,
            "participations_lookups_in_flight",
            "Commands and clicks acked and not yet answered (queued or running), summed over workers.",
            multiprocess_mode="livesum",
        )
        self._redis_up: Gauge | None = None
        self._redis_lock = threading.Lock()
        # Children bound once: `labels()` takes a lock and builds a key on every call.
        self._acks = {kind: self.ack_seconds.labels(kind) for kind in KINDS}
        self._lookups = {kind: self.lookup_seconds.labels(kind) for kind in KINDS}
        self._request = _Request()

    def _series(
        self, kind: type[_Series], name: str, documentation: str, labels: Sequence[str] = (), **options: Any
    ) -> _Series:
        """One series, kept where this process keeps its values (its own registry, or the multiprocess files)."""
        return kind(name, documentation, labels, registry=self._owner, **options)

    # -- the ack path (request thread) ---------------------------------------------------------------------

    def request_arrived(self) -> float:
        """Called first thing for a request from Slack; returns the arrival time for `request_answered`."""
        now = self.clock()
        self._request.arrival = now
        self._request.kind = None
        return now

    def acked(self, kind: str) -> float:
        """The listener acked a `kind` request on this thread; returns when it arrived (now, if not seen)."""
        request = self._request
        request.kind = kind
        self.in_flight.inc()
        return request.arrival if request.arrival is not None else self.clock()

    def request_answered(self, arrival: float) -> None:
        """The response is ready to go out: an ack (if a listener acked) took this long."""
        request = self._request
        kind = request.kind
        request.kind = request.arrival = None
        if kind is not None:
            self._acks[kind].observe(self.clock() - arrival)

    # -- after the ack (worker threads) --------------------------------------------------------------------

    def lookup_done(self, kind: str, arrival: float) -> None:
        """The answer to a `kind` request acked at `arrival` has been posted (or given up on)."""
        self.in_flight.dec()
        self._lookups[kind].observe(self.clock() - arrival)

    def lookup_dropped(self) -> None:
        """An acked request that will get no answer (the pool is shutting down)."""
        self.in_flight.dec()

    def command(self, audit_outcome: str) -> None:
        self.commands.labels(outcome_label(audit_outcome)).inc()

    def shortcut(self, audit_outcome: str) -> None:
        self.shortcuts.labels(outcome_label(audit_outcome)).inc()

    def click(self, button: str, audit_outcome: str) -> None:
        self.clicks.labels(button if button in BUTTONS else "other", outcome_label(audit_outcome)).inc()

    def hubspot_request(self, endpoint: str, status: int | str) -> None:
        self.hubspot_requests.labels(endpoint, hubspot_status_label(status)).inc()

    def rate_limit_waited(self, seconds: float) -> None:
        if seconds > 0:
            self.rate_limit_wait.inc(seconds)

    def slack_error(self, method: str, error: str) -> None:
        self.slack_errors.labels(method, slack_error_label(error)).inc()

    def set_redis_up(self, up: bool) -> None:
        """For the shared store (only with REDIS_URL): True when Redis answers, False when running on the fallback.

        The series exists from the first call, so a bot without Redis exports none. Across workers the lowest
        live value wins (`livemin`): one worker on its fallback already means state is no longer shared.
        """
        gauge = self._redis_up
        if gauge is None:
            with self._redis_lock:
                if self._redis_up is None:
                    self._redis_up = self._series(
                        Gauge,
                        "participations_redis_up",
                        "1 when the shared store (Redis) answers, 0 when a worker runs on its in-memory fallback.",
                        multiprocess_mode="livemin",
                    )
                gauge = self._redis_up
        gauge.set(1 if up else 0)

    # -- exposition -------------------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text format (every worker's values, in multiprocess mode)."""
        return generate_latest(self.registry)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def metrics_endpoint(metrics: Metrics, token: str) -> WSGIApp:
    """`GET /metrics`; with `token`, only for `Authorization: Bearer <token>` (compared in constant time)."""
    expected = f"Bearer {token}".encode()

    def endpoint(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        if token:
            given = str(environ.get("HTTP_AUTHORIZATION", "")).encode("utf-8", "replace")
            if not hmac.compare_digest(given, expected):
                body = b"metrics need Authorization: Bearer <METRICS_TOKEN>\n"
                start_response(
                    "401 Unauthorized",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("WWW-Authenticate", 'Bearer realm="metrics"'),
                        ("Content-Length", str(len(body))),
                    ],
                )
                return [body]
        output = metrics.render()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(output)))])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else output]

    return endpoint


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    timeout = 10  # a client that stops sending holds its thread this long at most

    def log_message(self, format: str, *args: Any) -> None:  # a scrape every 15 s is not news
        return


def serve_in_thread(app: WSGIApp, host: str, port: int) -> WSGIServer:
    """A small HTTP server for `/metrics` and `/healthz` beside Socket Mode (which has no HTTP port of its own)."""
    server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
