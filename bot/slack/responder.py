"""Answers through response URLs: one pooled session, bounded retries, every refusal logged and counted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from bot.hubspot.session import settle_proxies
from bot.metrics import Metrics, slack_error_label

log = logging.getLogger(__name__)


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
        metrics: Metrics | None = None,
    ) -> None:
        self._timeout = timeout
        self._metrics = metrics
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
                    self._failed("connection_error")
                    return False
                retry_in = 0.2 * attempt
            except requests.RequestException as exc:  # a read timeout: Slack may have posted it, do not repeat
                log.error("response_url post failed: %s", type(exc).__name__)
                self._failed("timeout" if isinstance(exc, requests.Timeout) else "connection_error")
                return False
            else:
                if 200 <= response.status_code < 300:
                    return True
                if response.status_code != 429 or attempt > self._max_retries:
                    log.error("response_url answered %s: %s", response.status_code, response.text[:200])
                    # Slack answers a refused post with its error code as plain text (expired_url, no_text…).
                    code = response.text.strip()[:40]
                    self._failed(code if slack_error_label(code) == code else f"http_{response.status_code}")
                    return False
                retry_in = min(self._timeout, _seconds(response.headers.get("Retry-After"), default=1.0))
            log.info("response_url post: retrying in %.1f s (attempt %d)", retry_in, attempt)
            self._sleep(retry_in)

    def _failed(self, error: str) -> None:
        if self._metrics is not None:
            self._metrics.slack_error("response_url", error)


def _seconds(raw: str | None, default: float) -> float:
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 0 else default
