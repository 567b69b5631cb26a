"""`python -m bench.ack_path`: the ack path alone, in this process, in microseconds.

The WSGI app `serve` runs (signature check, Bolt dispatch, the listener's ack, metrics) is called directly with a
signed slash command; the work after the ack is discarded, so only what stands between a request and its ack is
timed. `--multiprocess` records metrics as gunicorn workers do (prometheus_client's files in a temp directory).
Figures to read, never a pass/fail; quiet machines only.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlencode

SECRET = "bench-signing-secret"  # noqa: S105  (nothing is sent anywhere)


class DiscardWork:
    """Stands in for the lookup pool: the work after the ack is not what is measured."""

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[None]:
        future: Future[None] = Future()
        future.set_result(None)
        return future

    def shutdown(self, wait: bool = True) -> None:
        return


def build(metrics_dir: str | None) -> Callable[[dict[str, Any], Callable[..., Any]], Any]:
    from bot.app import build_app, build_wsgi
    from bot.config import Settings
    from bot.metrics import Metrics
    from bot.runtime import build_runtime
    from bot.slack.web import make_web_client

    settings = Settings(
        slack_bot_token="xoxb-bench",  # noqa: S106
        slack_signing_secret=SECRET,
        hubspot_access_token="hs-bench",  # noqa: S106
        hubspot_api_base="http://127.0.0.1:9",
        slack_api_url="http://127.0.0.1:9/api/",
        listener_workers=1,
    )
    metrics = Metrics(multiprocess_dir=metrics_dir) if metrics_dir else Metrics()
    runtime = build_runtime(settings, web_client=make_web_client(settings), background=DiscardWork(), metrics=metrics)
    return build_wsgi(build_app(settings, runtime=runtime))


def signed_command() -> Callable[[], dict[str, Any]]:
    fields = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/participations",
        "text": "jane@example.com",
        "response_url": "http://127.0.0.1:9/response/x",
        "trigger_id": "1.2.3",
    }
    body = urlencode(fields).encode()

    def environ() -> dict[str, Any]:
        timestamp = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/slack/events",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
            "HTTP_X_SLACK_SIGNATURE": f"v0={digest}",
            "wsgi.input": io.BytesIO(body),
        }

    return environ


def measure(runs: int, metrics_dir: str | None) -> list[float]:
    wsgi = build(metrics_dir)
    environ = signed_command()
    statuses: list[str] = []

    def call() -> None:
        b"".join(wsgi(environ(), lambda status, headers, *rest: statuses.append(status)))
        if not statuses[-1].startswith("200"):
            raise RuntimeError(f"the ack was {statuses[-1]}")

    for _ in range(min(300, runs)):  # warm-up
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1e6)
    return sorted(timings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_path", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000, help="signed commands to time (default 3000)")
    parser.add_argument("--multiprocess", action="store_true", help="metrics as gunicorn workers record them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as directory:
        timings = measure(max(1, args.runs), directory if args.multiprocess else None)
    mode = "multiprocess metrics" if args.multiprocess else "single-process metrics"
    p95, p99 = (timings[min(len(timings) - 1, int(q * len(timings)))] for q in (0.95, 0.99))
    print(
        f"ack path, in-process, {len(timings)} signed commands ({mode}): "
        f"median {statistics.median(timings):.0f} µs, p95 {p95:.0f} µs, p99 {p99:.0f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
