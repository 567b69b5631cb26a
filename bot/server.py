"""HTTP mode under gunicorn: one process, threads for concurrent requests (see README: Run)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings

# prometheus_client's own variable (see bot.metrics), set here so that every worker inherits it.
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


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
        self.options = {
            "bind": f"{host}:{port or settings.port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": settings.http_threads,
            "timeout": 30,
            # On SIGTERM (every deploy) lookups already acked are finished before the worker exits; the slowest
            # takes HUBSPOT_RETRY_BUDGET_SECONDS plus one read. Heroku itself kills after 30 s.
            "graceful_timeout": 28,
            "keepalive": 5,
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
        from bot.logging_setup import configure_logging
        from bot.metrics import Metrics

        configure_logging(self.settings.log_level, self.settings.log_format)
        metrics = Metrics(multiprocess_dir=self.metrics_dir) if self.metrics_dir else None
        return build_wsgi(build_app(self.settings, metrics=metrics))
