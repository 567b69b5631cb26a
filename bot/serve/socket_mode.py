"""Socket Mode: one outgoing WebSocket instead of a public endpoint; SIGTERM finishes acknowledged answers first."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)


def run_socket_mode(settings: Settings, *, metrics_host: str, metrics_port: int | None) -> int:
    """Serve over Socket Mode until SIGTERM or Ctrl+C, then finish the answers already acknowledged.

    Bolt's `SocketModeHandler.start()` blocks forever and dies on SIGTERM (every restart or deploy), taking the
    lookups of commands Slack already saw acked with it: their users would wait for an answer that never comes.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.app import build_app, build_probe_wsgi
    from bot.logging_setup import configure_logging
    from bot.metrics import serve_in_thread

    configure_logging(settings.log_level, settings.log_format)
    app = build_app(settings)
    metrics = app.runtime.metrics

    class TimedSocketModeHandler(SocketModeHandler):
        """Times each envelope from arrival to the ack sent back over the socket (`participations_ack_seconds`)."""

        def handle(self, client: Any, req: Any) -> None:
            arrival = metrics.request_arrived()
            try:
                super().handle(client, req)
            finally:
                metrics.request_answered(arrival)

    handler = TimedSocketModeHandler(app.bolt, settings.slack_app_token)
    metrics_port = metrics_port if metrics_port is not None else settings.metrics_port
    try:
        probes = serve_in_thread(build_probe_wsgi(app), metrics_host, metrics_port) if metrics_port else None
    except OSError as exc:  # in use, or an address this host does not have
        raise ConfigError(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror}") from None
    if probes is not None:
        log.info("serving /metrics and /healthz on %s:%d", metrics_host, probes.server_port)
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        try:
            handler.connect()  # type: ignore[no-untyped-call]
        except SlackApiError as exc:  # apps.connections.open refused the app-level token
            error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
            raise ConfigError(
                f"Slack refused SLACK_APP_TOKEN ({error}): use an app-level token (xapp-…) with connections:write "
                "from Basic Information → App-Level Tokens, and enable Socket Mode for the app"
            ) from None
        log.info("Socket Mode connected; stop with Ctrl+C or SIGTERM")
        stopping.wait()
    finally:
        handler.close()  # type: ignore[no-untyped-call]  # no new envelopes
        log.info("stopping: finishing the answers already acknowledged")
        app.close()
        if probes is not None:
            probes.shutdown()
            probes.server_close()
    return 0
