"""HTTP mode: gunicorn's master (processes, restarts) over waitress workers (see README: Run).

gunicorn's own gthread worker hands a connection to a thread before the request is read, and reads headers and
body with no deadline: 17 clients sending a byte a second held all 16 threads and no command got its ack. Each
worker here runs waitress on the sockets gunicorn listens on: waitress reads requests asynchronously, in one
thread, and hands only complete ones (capped in size) to its `HTTP_THREADS` threads. A request not complete within
`REQUEST_DEADLINE_SECONDS` has its connection closed, so slow clients cost a socket for a few seconds, never a
thread. With REDIS_URL, gunicorn runs WEB_CONCURRENCY such workers (they share state through Redis); without it, one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.config import Settings
from bot.logging_setup import configure_logging
from bot.metrics import MULTIPROC_DIR_VARIABLE

log = logging.getLogger(__name__)

# Open connections per worker (waitress' default is 100). A slow or stalled one costs a socket and at most
# MAX_REQUEST_BYTES, spooled to disk past INBUF_IN_MEMORY, until its deadline.
CONNECTION_LIMIT = 500
# Request body bytes a connection keeps in memory; beyond that waitress buffers to a temporary file.
INBUF_IN_MEMORY = 64 * 1024
# Slack's request headers are under 2 kB.
MAX_HEADER_BYTES = 16 * 1024
LOOP_SECONDS = 0.5  # how often the worker tells gunicorn it is alive and enforces deadlines


class DeadlineChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress connection that remembers when the request it is reading began."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.monotonic()
        result: bool = super().received(data)
        if self.request is None:
            self.request_started = None
        return result


def expire_slow_requests(socket_map: dict[int, Any], deadline: float, now: float) -> int:
    """Close connections whose current request is still incomplete after `deadline` seconds; how many closed."""
    closed = 0
    for channel in list(socket_map.values()):
        if not isinstance(channel, DeadlineChannel) or channel.request_started is None or channel.requests:
            continue
        if now - channel.request_started > deadline:
            channel.handle_close()
            closed += 1
    return closed


def _busy(socket_map: dict[int, Any]) -> bool:
    """A request being answered, or an answer not yet sent."""
    return any(
        isinstance(channel, HTTPChannel) and (channel.requests or channel.total_outbufs_len)
        for channel in list(socket_map.values())
    )


class WaitressWorker(Worker):  # type: ignore[misc]
    """A gunicorn worker that serves with waitress; gunicorn keeps the heartbeat, signals and graceful exit."""

    def run(self) -> None:
        settings: Settings = self.app.settings
        server = create_server(
            self.wsgi,
            sockets=[listener.sock for listener in self.sockets],
            threads=settings.http_threads,
            connection_limit=CONNECTION_LIMIT,
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=settings.max_request_bytes,
            inbuf_overflow=INBUF_IN_MEMORY,
            # Idle keep-alive connections; incomplete requests are closed by the deadline below.
            channel_timeout=max(5.0, settings.request_deadline_seconds),
            cleanup_interval=1,
            asyncore_use_poll=True,  # select() fails past file descriptor 1024
            ident="participations-bot",
        )
        # A burst deeper than HTTP_THREADS queues for milliseconds (the acks are short): not one warning per request.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        if isinstance(server, MultiSocketServer):  # gunicorn bound several addresses
            servers = [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]
        else:
            servers = [server]
        socket_map: dict[int, Any] = servers[0]._map
        for listening in servers:
            listening.channel_class = DeadlineChannel
        parent = os.getppid()
        next_check = 0.0
        while self.alive:
            wasyncore.loop(timeout=LOOP_SECONDS, map=socket_map, use_poll=True, count=1)
            now = time.monotonic()
            if now < next_check:  # under load the loop turns per event: check a few times a second, not per event
                continue
            next_check = now + LOOP_SECONDS / 2
            self.notify()
            expire_slow_requests(socket_map, settings.request_deadline_seconds, now)
            if os.getppid() != parent:
                log.warning("gunicorn master is gone; stopping")
                break
        self._drain(servers, socket_map)

    def _drain(self, servers: list[BaseWSGIServer], socket_map: dict[int, Any]) -> None:
        """Stop accepting, finish the requests already read and send their answers, then stop the threads.

        Lookups already acknowledged run on the bot's own pool, which Python finishes before the process exits.
        """
        for listening in servers:
            listening.accepting = False
            listening.del_channel()  # the socket is gunicorn's: it stays open for the next worker
        deadline = time.monotonic() + max(1.0, self.cfg.graceful_timeout - 2)
        while _busy(socket_map) and time.monotonic() < deadline:
            self.notify()
            wasyncore.loop(timeout=0.1, map=socket_map, use_poll=True, count=1)
        servers[0].task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        for channel in list(socket_map.values()):
            if isinstance(channel, HTTPChannel):
                channel.handle_close()


class JsonReadyLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's own lines (booting, signals, worker exits) go through our handler: scrubbed, one line, JSON."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for own in (self.error_log, self.access_log):
            own.handlers[:] = []
            own.propagate = True


# MULTIPROC_DIR_VARIABLE (prometheus_client's own, see bot.metrics) is set here so that every worker inherits it.


@contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh, empty directory for the workers' metric files, in the environment they inherit, removed at exit.

    Always our own: files left by an earlier run (or by another bot sharing a directory) would add old counts
    to every scrape.
    """
    previous = os.environ.get(MULTIPROC_DIR_VARIABLE)
    path = tempfile.mkdtemp(prefix="participations-metrics-")
    os.environ[MULTIPROC_DIR_VARIABLE] = path
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_DIR_VARIABLE, None)
        else:
            os.environ[MULTIPROC_DIR_VARIABLE] = previous
        shutil.rmtree(path, ignore_errors=True)


def forget_worker(metrics_dir: str) -> Any:
    """gunicorn's `child_exit` hook: a dead worker's in-flight count must stop adding to the live total."""

    def child_exit(_server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, metrics_dir)  # type: ignore[no-untyped-call]

    return child_exit


def worker_count(settings: Settings) -> int:
    """WEB_CONCURRENCY workers when they can share state (REDIS_URL); otherwise one, and say why."""
    if settings.redis_url:
        return settings.web_concurrency
    if settings.web_concurrency > 1:
        log.warning(
            "WEB_CONCURRENCY=%d ignored: several workers need REDIS_URL (shared state); running 1 worker",
            settings.web_concurrency,
        )
    return 1


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Runs our WSGI app programmatically, so `participations-bot serve` is the Procfile's one command.

    `metrics_dir` (from `metrics_directory`): workers count in prometheus_client's multiprocess mode there.
    """

    def __init__(
        self,
        settings: Settings,
        host: str = "0.0.0.0",  # noqa: S104
        port: int | None = None,
        metrics_dir: str | None = None,
    ) -> None:
        self.settings = settings
        self.metrics_dir = metrics_dir
        configure_logging(settings.log_level, settings.log_format)  # the master's own lines too
        self.options = {
            "bind": f"{host}:{port or settings.port}",
            "workers": worker_count(settings),
            "worker_class": f"{WaitressWorker.__module__}.{WaitressWorker.__qualname__}",
            "logger_class": f"{JsonReadyLogger.__module__}.{JsonReadyLogger.__qualname__}",
            "timeout": 30,
            # On SIGTERM (every deploy) lookups already acked are finished before the worker exits; the slowest
            # takes HUBSPOT_RETRY_BUDGET_SECONDS plus one read. Heroku itself kills after 30 s.
            "graceful_timeout": 28,
            "loglevel": settings.log_level.lower(),
            "accesslog": None,
            # gunicorn ≥ 25 opens a control socket in $HOME; nothing here uses it, and two bots would share it.
            "control_socket_disable": True,
        }
        if metrics_dir is not None:
            self.options["child_exit"] = forget_worker(metrics_dir)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorn releases lack some settings (e.g. the control socket)
                self.cfg.set(key, value)

    def load(self) -> Any:
        # Built in the worker (after fork), so thread pools and sessions belong to the serving process.
        from bot.app import build_app, build_wsgi
        from bot.metrics import Metrics

        configure_logging(self.settings.log_level, self.settings.log_format)
        metrics = Metrics(multiprocess_dir=self.metrics_dir) if self.metrics_dir else None
        return build_wsgi(build_app(self.settings, metrics=metrics))
