"""Smoke test: the benchmark runs end to end (real `serve` process, loopback fakes) with tiny parameters.

No timing is asserted: the benchmark prints figures; it fails only when the bot loses or garbles a reply.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import run_module

REPO_ROOT = Path(__file__).resolve().parent.parent

# One burst at 50 ms, no one-at-a-time run, no rate-limit scenario: the smallest run that still tests every phase.
ONE_SMALL_BURST = ("--latencies", "50", "--skip-rate-limit", "--sequential", "0")


def run_bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_module("bench", *args, cwd=REPO_ROOT, timeout=timeout)


def assert_printed(completed: subprocess.CompletedProcess[str], lines: tuple[str, ...]) -> None:
    """The run succeeded and its output holds every one of `lines`."""
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for line in lines:
        assert line in completed.stdout, completed.stdout


def test_benchmark_runs_and_prints_its_table() -> None:
    completed = run_bench(*ONE_SMALL_BURST, "--concurrency", "3", "--render-runs", "20", "--reply-timeout", "10")
    assert_printed(
        completed,
        (
            "| figure | target | C=3, L=50 ms |",
            "start → /healthz 200 (ms)",
            "peak RSS, master + worker (MB)",
            "command ack p50 / p95 / p99 / max (ms)",
            "command bot overhead p50 / p95 (ms)",
            "Next → page in thread p50 / p95 / max (ms)",
            "HubSpot requests / TCP connections",
            "render_page, 100 entries",
            "3 ok, 0 error, 0 lost, 0 wrong, 0 non-200",
        ),
    )


def test_benchmark_exits_1_when_the_bot_misbehaves() -> None:
    # A bot with another signing secret answers every signed request 401: acks fail, no page is delivered.
    completed = run_bench(
        *ONE_SMALL_BURST,
        "--concurrency",
        "2",
        "--render-runs",
        "5",
        "--reply-timeout",
        "3",
        "--bot-env",
        "SLACK_SIGNING_SECRET=not-the-one-slack-uses",
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "MISBEHAVIOUR" in completed.stderr
    assert "ack not 200" in completed.stderr


def test_soak_prints_memory_at_every_checkpoint() -> None:
    # 60 lookups at 30/s: too short to say anything about memory, long enough to see the soak run end to end.
    completed = run_bench("--soak", "60", "--soak-rate", "30", "--soak-users", "5", "--latencies", "20")
    assert_printed(
        completed,
        (
            "| lookups | s | worker RSS (MiB) | master RSS (MiB) | worker threads | ack p99 (ms) |",
            "| 60 |",
            "lookups: 60 ok, 0 lost, 0 wrong",
        ),
    )
    assert "| figure | target |" not in completed.stdout  # the soak replaces the burst scenarios


def test_two_processes_sharing_redis_report_duplicates_and_429s() -> None:
    # Needs redis-server (CI installs it). Duplicates and 429s are figures here, not failures: a lost or wrong
    # page, or a non-200 ack, is.
    completed = run_bench("--two-processes", "--two-process-users", "4", "-c", "2", "--records", "21", timeout=90)
    assert_printed(
        completed,
        (
            "| figure | target | 2 × serve + Redis, 4 users, 100 req/10 s, L=200 ms |",
            "all acks p99 (ms)",
            "double clicks: page 2 posted / duplicates | dup 0 | 4 / ",
            "HubSpot requests / 429s",
            "users.info calls",
            "Redis keys / used memory after the run",
            "command replies |  | 4 ok, 0 rate-limit error, 0 other error, 0 lost |",
        ),
    )


def test_readme_option_table_lists_every_benchmark_option() -> None:
    from bench.cli import build_parser

    performance = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("## Performance", 1)[1]
    performance = performance.split("\n## ", 1)[0]
    table = [line for line in performance.splitlines() if line.startswith("| `-")]
    documented = {option for line in table for option in re.findall(r"`(--[a-z0-9-]+)", line)}
    options = set(re.findall(r"(?<![\w-])(--[a-z0-9-]+)", build_parser().format_help())) - {"--help"}
    assert documented == options


def test_the_ack_path_benchmark_times_real_acks_with_multiprocess_metrics() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.ack_path", "--runs", "50", "--multiprocess"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "50 signed commands (multiprocess metrics): median" in completed.stdout


def test_no_setting_of_the_developer_leaks_into_the_benchmarked_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.process import clean_environment

    source = (REPO_ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    read_by_bot = set(re.findall(r"\benv(?:\.get\(|, )\"([A-Z][A-Z0-9_]+)\"", source))
    assert {"REDIS_URL", "WEB_CONCURRENCY", "SLACK_BOT_TOKEN"} <= read_by_bot
    for name in read_by_bot:
        monkeypatch.setenv(name, "a developer's own value")
    assert read_by_bot.isdisjoint(clean_environment({}))
