"""HTTP mode under gunicorn: threads for concurrent requests, WEB_CONCURRENCY processes with REDIS_URL (README: Run)."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings

log = logging.getLogger(__name__)


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
    """Runs our WSGI app programmatically, so `participations-bot serve` is the Procfile's one command."""

    def __init__(self, settings: Settings, host: str = "0.0.0.0", port: int | None = None) -> None:  # noqa: S104
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port or settings.port}",
            "workers": worker_count(settings),
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
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorn releases lack some settings (e.g. the control socket)
                self.cfg.set(key, value)

    def load(self) -> Any:
        # Built in the worker (after fork), so thread pools and sessions belong to the serving process.
        from bot.app import build_app, build_wsgi
        from bot.logging_setup import configure_logging

        configure_logging(self.settings.log_level, self.settings.log_format)
        return build_wsgi(build_app(self.settings))
