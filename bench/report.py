"""What the benchmark prints: the table of figures, the misbehaviour report, the JSON figures."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from bench.measure import ACK_DEADLINE_MS, Phase, percentile
from bench.scenarios import Result


def fmt(value: float, digits: int = 0) -> str:
    return "–" if value != value else f"{value:,.{digits}f}"  # NaN → dash


def ack_cell(phase: Phase | None) -> str:
    if phase is None or not phase.acks:
        return "–"
    acks = phase.acks
    return " / ".join(fmt(percentile(acks, q), 0 if percentile(acks, q) >= 10 else 1) for q in (0.5, 0.95, 0.99, 1.0))


def over_cell(phase: Phase | None) -> str:
    return "–" if phase is None else str(sum(1 for ack in phase.acks if ack > ACK_DEADLINE_MS))


def delivered_cell(phase: Phase | None) -> str:
    if phase is None or not phase.delivered_ms:
        return "–"
    values = phase.delivered_ms
    return " / ".join(fmt(percentile(values, q)) for q in (0.5, 0.95, 1.0))


def overhead_cell(phase: Phase | None) -> str:
    if phase is None or not phase.overhead_ms:
        return "–"
    values = phase.overhead_ms
    return " / ".join(fmt(percentile(values, q), 1) for q in (0.5, 0.95))


def outcome_cell(phase: Phase | None) -> str:
    if phase is None:
        return "–"
    ok = len(phase.pages) if phase.pages else len(phase.delivered_ms)
    return (
        f"{ok} ok, {len(phase.rate_limited) + len(phase.other_errors)} error, {len(phase.lost)} lost, "
        f"{len(phase.wrong)} wrong, {len(phase.bad_acks)} non-200"
    )


def rss_cell(result: Result) -> str:
    if not result.rss_kb:
        return "–"
    parts = list(result.rss_kb.values())
    total = sum(parts) / 1024
    return f"{total:.1f} ({' + '.join(f'{kb / 1024:.1f}' for kb in parts)})"


def cpu_cell(result: Result) -> str:
    handled = sum(len(p.sent) for p in (result.commands, result.clicks) if p is not None)
    if not handled or result.load_cpu_s != result.load_cpu_s:
        return "–"
    return f"{result.load_cpu_s * 1000 / handled:.1f}"


def table(results: Sequence[Result], settings: dict[str, int | str]) -> list[str]:
    concurrency = settings["HUBSPOT_MAX_CONCURRENCY"]
    rows: list[tuple[str, str, Callable[[Result], str]]] = [
        ("start → /healthz 200 (ms)", "≤ 2000", lambda r: fmt(r.startup_ms)),
        ("peak RSS, master + worker (MB)", "≤ 90", rss_cell),
        ("command ack p50 / p95 / p99 / max (ms)", "p99 ≤ 100", lambda r: ack_cell(r.commands)),
        ("command acks > 3 s", "0", lambda r: over_cell(r.commands)),
        ("command → page p50 / p95 / max (ms)", "", lambda r: delivered_cell(r.commands)),
        ("command bot overhead p50 / p95 (ms)", "p50 ≤ 20 at 200 ms", lambda r: overhead_cell(r.commands)),
        ("command replies", "", lambda r: outcome_cell(r.commands)),
        ("Next ack p50 / p95 / p99 / max (ms)", "p99 ≤ 100", lambda r: ack_cell(r.clicks)),
        ("Next acks > 3 s", "0", lambda r: over_cell(r.clicks)),
        ("Next → page in thread p50 / p95 / max (ms)", "", lambda r: delivered_cell(r.clicks)),
        ("Next bot overhead p50 / p95 (ms)", "p50 ≤ 20 at 200 ms", lambda r: overhead_cell(r.clicks)),
        ("Next replies", "", lambda r: outcome_cell(r.clicks)),
        (
            "HubSpot requests / TCP connections",
            f"conns ≤ {concurrency}",
            lambda r: f"{r.hubspot_requests} / {r.hubspot_connections}",
        ),
        ("Slack requests / TCP connections", "", lambda r: f"{r.slack_requests} / {r.slack_connections}"),
        ("server CPU per command or Next (ms)", "", cpu_cell),
        (
            "CPU s: server / benchmark (clients + fakes)",
            "",
            lambda r: f"{fmt(r.load_cpu_s, 2)} / {fmt(r.bench_cpu_s, 2)}",
        ),
        ("429s sent by HubSpot", "report", lambda r: str(r.hubspot_429)),
        (
            "users shown a rate-limit error",
            "0",
            lambda r: "–" if r.commands is None else str(len(r.commands.rate_limited)),
        ),
        (
            "last reply after first command (s)",
            "",
            lambda r: "–" if r.commands is None else fmt(r.commands.last_reply_s, 1),
        ),
    ]
    lines = [
        "| figure | target | " + " | ".join(r.title for r in results) + " |",
        "|---|---|" + "---|" * len(results),
    ]
    for label, target, cell in rows:
        lines.append(f"| {label} | {target} | " + " | ".join(cell(r) for r in results) + " |")
    return lines


def report_misbehaviour(problems: Sequence[str]) -> bool:
    """Print what the bot did wrong (the first 30); True when there was anything (exit status 1)."""
    if problems:
        print(f"\nMISBEHAVIOUR ({len(problems)}):", file=sys.stderr)
        for problem in problems[:30]:
            print(f"  {problem}", file=sys.stderr)
    return bool(problems)


def figures_json(
    results: Sequence[Result],
    render_median: float,
    render_p95: float,
    info: dict[str, str],
    settings: dict[str, int | str],
) -> dict[str, Any]:
    def phase(p: Phase | None) -> dict[str, Any] | None:
        if p is None:
            return None
        return {
            "acks_ms": sorted(p.acks),
            "delivered_ms": sorted(p.delivered_ms),
            "overhead_ms": sorted(p.overhead_ms),
            "lost": p.lost,
            "wrong": p.wrong,
            "rate_limited": len(p.rate_limited),
            "other_errors": p.other_errors,
            "bad_acks": p.bad_acks,
        }

    scenarios: dict[str, Any] = defaultdict(dict)
    for r in results:
        scenarios[r.title] = {
            "startup_ms": r.startup_ms,
            "peak_rss_kb": list(r.rss_kb.values()),
            "commands": phase(r.commands),
            "clicks": phase(r.clicks),
            "hubspot_requests": r.hubspot_requests,
            "hubspot_connections": r.hubspot_connections,
            "hubspot_429": r.hubspot_429,
            "slack_requests": r.slack_requests,
            "slack_connections": r.slack_connections,
            "server_cpu_s": r.load_cpu_s,
        }
    return {
        "machine": info,
        "settings": settings,
        "scenarios": scenarios,
        "render_ms": {"median": render_median, "p95": render_p95},
    }
