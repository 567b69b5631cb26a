"""The ack comes first: a listener acks on the request thread and hands the work to the background pool."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.web import WebClient

from bot.runtime import Runtime

log = logging.getLogger("bot.listeners")


def ack_and_defer(
    runtime: Runtime, work: Callable[[dict[str, Any], WebClient], None], *, kind: str
) -> Callable[..., None]:
    """A listener that acks on the request thread, then hands `work` to the background pool.

    With `process_before_response=True` Bolt runs it synchronously and answers Slack as soon as it returns, so
    the ack never waits for a busy worker. (Bolt's own lazy listeners do the same but deep-copy and re-parse each
    request first, which cost more CPU per ack than the rest of the request path.) `kind` (command, click) labels
    the ack and lookup timings; a request counts as in flight from its ack until `work` returns.
    """
    metrics = runtime.metrics

    def answer(body: dict[str, Any], client: WebClient, arrival: float) -> None:
        try:
            work(body, client)
        finally:
            metrics.lookup_done(kind, arrival)

    def listener(ack: Callable[..., Any], body: dict[str, Any], client: WebClient) -> None:
        ack()
        arrival = metrics.acked(kind)
        try:
            runtime.background.submit(answer, body, client, arrival)
        except RuntimeError:  # the pool is shutting down: nothing can answer any more
            metrics.lookup_dropped()
            log.error("dropped a request during shutdown")

    return listener
