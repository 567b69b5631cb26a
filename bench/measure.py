"""Measurement: concurrent signed requests timed from send to ack and to the reply they caused; percentiles;
the machine; render_page timed in-process."""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.hubspot import participation
from tests.support.slack import SlackSender

ACK_DEADLINE_MS = 3000.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest one)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count() or "?"),
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


@dataclass
class Sent:
    user: int
    started: float = 0.0
    ack_ms: float = float("nan")
    status: int = 0
    error: str = ""


@dataclass
class Phase:
    """One burst of commands or clicks, and what came of it."""

    sent: dict[int, Sent] = field(default_factory=dict)
    delivered_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    pages: dict[int, dict[str, Any]] = field(default_factory=dict)
    lost: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    rate_limited: list[int] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)
    last_reply_s: float = 0.0

    @property
    def acks(self) -> list[float]:
        return [s.ack_ms for s in self.sent.values() if s.status == 200]

    @property
    def bad_acks(self) -> list[str]:
        return [f"user {s.user}: {s.error or s.status}" for s in self.sent.values() if s.status != 200]


def burst(
    users: Sequence[int],
    clients: int,
    make_sender: Callable[[], SlackSender],
    send: Callable[[SlackSender, int], Any],
    timeout: float,
) -> dict[int, Sent]:
    """`clients` threads released together; each sends its share of `users` one after another."""
    results = {user: Sent(user) for user in users}
    shares = [list(users[index::clients]) for index in range(min(clients, len(users)))]
    barrier = threading.Barrier(len(shares))

    def client(share: list[int]) -> None:
        sender = make_sender()
        try:
            barrier.wait(timeout=10)
            for user in share:
                record = results[user]
                record.started = time.monotonic()
                try:
                    response = send(sender, user)
                    record.status = response.status_code
                except Exception as exc:  # a refused or timed-out ack is a finding, not a crash
                    record.error = type(exc).__name__
                record.ack_ms = (time.monotonic() - record.started) * 1000
        finally:
            sender.session.close()

    threads = [threading.Thread(target=client, args=(share,), daemon=True) for share in shares]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return results


def merge(phases: Sequence[Phase]) -> Phase:
    merged = Phase(last_reply_s=float("nan"))  # one user at a time: "last reply" says nothing
    for phase in phases:
        merged.sent.update(phase.sent)
        merged.delivered_ms += phase.delivered_ms
        merged.overhead_ms += phase.overhead_ms
        merged.pages.update(phase.pages)
        merged.lost += phase.lost
        merged.wrong += phase.wrong
        merged.rate_limited += phase.rate_limited
        merged.other_errors += phase.other_errors
    return merged


def render_timing(runs: int) -> tuple[float, float]:
    """(median, p95) milliseconds for `render_page` of a 100-entry page, in this process."""
    from bot.domain.queries import PageQuery
    from bot.hubspot.models import parse_page
    from bot.i18n import Translator
    from bot.render.page import render_page

    states = ("ATTENDED", "REGISTERED", "NO_SHOW", "CANCELLED")
    body = {
        "total": 250,
        "results": [
            participation(
                index,
                name=f"Quarterly <Product> & Roadmap Webinar #{index} — EMEA edition @here",
                state=states[index % 4],
                percentage="87.5" if index % 4 == 0 else None,
                duration=3120 if index % 4 == 0 else None,
            )
            for index in range(100)
        ],
        "paging": {"next": {"after": "NTAwMA==", "link": "https://api.hubapi.com/x"}},
    }
    page = parse_page(body)
    query = PageQuery(identifier="jane@example.com", limit=100)
    tr = Translator("en")
    for _ in range(min(20, runs)):
        render_page(page, query, tr)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        render_page(page, query, tr)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), percentile(timings, 0.95)
