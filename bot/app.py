"""App factory (as in Flask): tests build apps from injected settings and fakes.

`build_app` returns a `BotApp`: the Bolt app and the `Runtime` its listeners use, with `close()` for shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web import WebClient

from bot.audit import new_reference
from bot.config import Settings
from bot.http_guard import Malformed, guard
from bot.i18n import Translator
from bot.listeners import register
from bot.metrics import METRICS_PATH, Metrics, metrics_endpoint
from bot.render.blocks import EPHEMERAL
from bot.render.notices import render_notice
from bot.runtime import Runtime, build_runtime
from bot.slack.web import make_web_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class BotApp:
    """The Bolt app and the runtime its listeners share; `close()` lets acknowledged lookups finish."""

    bolt: App
    runtime: Runtime

    def close(self) -> None:
        self.runtime.close()


def build_app(
    settings: Settings,
    runtime: Runtime | None = None,
    web_client: WebClient | None = None,
    metrics: Metrics | None = None,
) -> BotApp:
    """A Bolt app whose acks never wait: listeners ack on the request thread, work runs in `runtime.background`.

    `metrics`: this process's one `Metrics` (gunicorn workers pass their multiprocess one); unused with `runtime`.
    """
    runtime = runtime or build_runtime(settings, web_client=web_client or make_web_client(settings), metrics=metrics)
    token = settings.slack_bot_token

    def authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
        # Single-workspace app with a known token: no auth.test round trip in front of the first ack.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    # Bolt also reads SLACK_BOT_TOKEN from the environment on its own and then warns that it is unused beside our
    # client; the token reaches listeners through authorize() above, so that notice is noise at every start.
    bolt_logger = logging.getLogger("slack_bolt.App")
    bolt_logger.addFilter(_drop_token_notices)
    app = App(
        # Token-less: `authorize` supplies the token per request, and Bolt copies this client's base_url.
        client=make_web_client(settings, with_token=False),
        signing_secret=settings.slack_signing_secret or "unused-in-socket-mode",
        authorize=authorize,
        process_before_response=True,
        listener_executor=runtime.background,
        raise_error_for_unhandled_request=False,
    )

    bolt_logger.removeFilter(_drop_token_notices)
    # Bolt logs a forged or stale request with its whole body (a customer's email, a live response_url) at INFO;
    # build_wsgi logs the rejection itself, without the body.
    logging.getLogger("slack_bolt.RequestVerification").addFilter(_drop_rejected_bodies)

    @app.error
    def log_unhandled(error: Exception) -> None:
        log.error("unhandled listener error: %s", type(error).__name__, exc_info=error)

    register(app, runtime)
    return BotApp(app, runtime)


def _drop_token_notices(record: logging.LogRecord) -> bool:
    return "`token`" not in record.getMessage()


def _drop_rejected_bodies(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Invalid request signature detected")


def healthz(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "3")])
    return [b"ok\n"]


def readyz(runtime: Runtime, start_response: Callable[..., Any]) -> Iterable[bytes]:
    reason = runtime.state.ready()
    body = b"ok\n" if reason is None else f"not ready: {reason}\n".encode()
    status = "200 OK" if reason is None else "503 Service Unavailable"
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "10")])
    return [b"Not Found\n"]


def build_probe_wsgi(app: BotApp, otherwise: WSGIApp = not_found) -> WSGIApp:
    """`GET /healthz` (liveness) and `/readyz` (503 while REDIS_URL is set and Redis does not answer) for load
    balancers, `/metrics` for Prometheus; anything else goes to `otherwise`.

    Alone (a 404 for the rest), it is what Socket Mode serves on `--metrics-port`.
    """
    runtime = app.runtime
    metrics = metrics_endpoint(runtime.metrics, runtime.settings.metrics_token)

    def probes(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            return healthz(environ, start_response)
        if path == READY_PATH and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            return readyz(runtime, start_response)
        if path == METRICS_PATH:
            return metrics(environ, start_response)
        return otherwise(environ, start_response)

    return probes


def build_wsgi(app: BotApp) -> WSGIApp:
    """One WSGI app: `/slack/events` for commands and clicks, `/healthz` and `/metrics` (see build_probe_wsgi).

    Slack's requests pass the guard (size cap, signature on the raw bytes, shape) before Bolt reads them; acks are
    timed from the request's arrival.
    """
    runtime = app.runtime
    recorder = runtime.metrics

    def audit_malformed(refusal: Malformed) -> None:
        log.debug("signed request refused: %s", refusal.reason)
        reference = new_reference()
        if refusal.response_url:  # tell the user, off the request thread
            tr = Translator(runtime.settings.default_language)
            notice = {**render_notice(tr("error.malformed"), tr, reference), **EPHEMERAL}
            try:
                runtime.background.submit(runtime.responder.post, refusal.response_url, notice)
            except RuntimeError:  # shutting down: the audit line below still records it
                log.debug("no notice for a malformed request during shutdown")
        runtime.audit.record(
            "request",
            body={},
            identifier=None,
            state=None,
            page=None,
            outcome="malformed_request",
            started=runtime.clock(),
            reference=reference,
        )

    slack = guard(
        SlackRequestHandler(app.bolt, path=EVENTS_PATH),
        signing_secret=runtime.settings.slack_signing_secret,
        max_body_bytes=runtime.settings.max_request_bytes,
        on_malformed=audit_malformed,
    )

    def events(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != EVENTS_PATH:
            return not_found(environ, start_response)
        arrival = recorder.request_arrived()
        try:
            return slack(environ, start_response)  # Bolt's answer is complete here: the server writes it next
        finally:
            recorder.request_answered(arrival)

    return build_probe_wsgi(app, otherwise=events)
