"""`python -m bench`: the bot as users deploy it, driven by concurrent signed requests, figures in a table.

Each scenario starts `participations-bot serve` (the Procfile's command) in its own process, pointed at a loopback
fake HubSpot (latency and rate limit are parameters) and a loopback fake Slack (tests/support/hubspot.py and
slack.py), which time every request they handle. Client threads send real `v0`-signed slash commands and Next
clicks. Every simulated user looks up a contact of their own, so each HubSpot request and each Slack post is tied
to one user:

    bot overhead = page delivered − command sent − HubSpot handling time − Slack handling time

(Slack handling = the fake's time answering the bot's `users.info`, response_url post or `chat.postMessage`).
Exit status: 0 when every user got the right page; 1 when the bot misbehaved (it did not start, a reply was lost
or wrong, an ack was not HTTP 200); 2 for bad options or a crash of the benchmark itself. Timings never fail the
run: they are figures to read.

Layout: cli.py (options, the run), scenarios.py (the fakes, the bot, the users, and `planned_scenarios`: the
default run as a table), measure.py (timed bursts, percentiles), report.py (the table, the JSON, misbehaviour);
soak.py and two_processes.py are the separate runs `--soak` and `--two-processes`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.measure import machine, render_timing
from bench.report import figures_json, report_misbehaviour, table
from bench.scenarios import PAGE_SIZE, Result, planned_scenarios, run_scenario


def bot_defaults(overrides: dict[str, str]) -> dict[str, int | str]:
    from bot.config import load_settings

    settings = load_settings(overrides, dotenv=False)
    return {
        "HUBSPOT_MAX_CONCURRENCY": settings.hubspot_max_concurrency,
        # Unset: the bot paces to the limit HubSpot advertises (the fake's), less its margin.
        "HUBSPOT_REQUESTS_PER_10S": settings.hubspot_requests_per_10s or "unset",
        "LISTENER_WORKERS": settings.listener_workers,
        "HTTP_THREADS": settings.http_threads,
    }


def parse_rate_limit(raw: str) -> tuple[int, float]:
    try:
        count, seconds = raw.split("/")
        return int(count), float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected REQUESTS/SECONDS such as 100/10, got {raw!r}") from None


def parse_latencies(raw: str) -> list[float]:
    try:
        values = [float(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds such as 2000,200, got {raw!r}") from None
    if not values or any(value < 0 for value in values):
        raise argparse.ArgumentTypeError("latencies must be zero or more milliseconds")
    return values


def parse_env(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {raw!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start `participations-bot serve` against loopback fakes, drive it with signed requests, "
        "print figures. Exits 1 only if the bot misbehaved (lost or wrong reply, non-200 ack).",
    )
    parser.add_argument("-c", "--concurrency", type=int, default=50, help="concurrent users per burst (default 50)")
    parser.add_argument(
        "--latencies",
        type=parse_latencies,
        default=[2000.0, 200.0],
        metavar="MS[,MS…]",
        help="fake HubSpot latency per burst scenario, in ms (default 2000,200)",
    )
    parser.add_argument(
        "--rate-limit-commands", type=int, default=200, help="commands in the rate-limit scenario (default 200)"
    )
    parser.add_argument(
        "--rate-limit",
        type=parse_rate_limit,
        default=(100, 10.0),
        metavar="N/SECONDS",
        help="what the fake HubSpot enforces in that scenario (default 100/10)",
    )
    parser.add_argument(
        "--rate-limit-latency", type=float, default=200.0, metavar="MS", help="its HubSpot latency (default 200)"
    )
    parser.add_argument("--skip-rate-limit", action="store_true", help="skip the rate-limit scenario")
    parser.add_argument(
        "--sequential",
        type=int,
        default=20,
        metavar="N",
        help="also send N commands and N clicks one at a time, at the last latency: the overhead without "
        "queueing (default 20, 0 to skip)",
    )
    parser.add_argument("--render-runs", type=int, default=500, help="render_page runs for the median (default 500)")
    parser.add_argument("--records", type=int, default=25, help="participations per contact (default 25, ≥ 21)")
    parser.add_argument(
        "--reply-timeout", type=float, default=45.0, help="seconds to wait for all replies of a burst (default 45)"
    )
    parser.add_argument(
        "--bot-env",
        type=parse_env,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for the bot, e.g. HUBSPOT_MAX_CONCURRENCY=16 (repeatable)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the raw figures as JSON")
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        metavar="N",
        help="instead of the scenarios: N lookups (command + Next) at a steady rate against one serve process, "
        "memory (RSS) every 500 lookups (off by default)",
    )
    parser.add_argument("--soak-rate", type=float, default=20.0, metavar="R", help="soak lookups per second (20)")
    parser.add_argument("--soak-users", type=int, default=1000, help="distinct users/contacts in the soak (1000)")
    parser.add_argument(
        "--soak-redis", action="store_true", help="soak with REDIS_URL set (starts a redis-server of its own)"
    )
    parser.add_argument(
        "--two-processes",
        action="store_true",
        help="instead of the scenarios: two serve processes sharing a redis-server of their own, users spread over "
        "both, every Next clicked on both at once, HubSpot enforcing --rate-limit across both (off by default)",
    )
    parser.add_argument(
        "--two-process-users", type=int, default=100, metavar="N", help="users in that scenario (default 100)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except Exception:  # a bug in the benchmark is not the bot misbehaving: say so, with a distinct status
        import traceback

        traceback.print_exc()
        print("bench: the benchmark itself failed (exit 2); this says nothing about the bot", file=sys.stderr)
        return 2


def run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.concurrency < 1 or args.records < 2 * PAGE_SIZE + 1 or args.render_runs < 1:
        print("bench: --concurrency ≥ 1, --records ≥ 21 and --render-runs ≥ 1 please", file=sys.stderr)
        return 2
    if args.soak < 0 or args.soak_rate <= 0 or args.soak_users < 1 or args.two_process_users < 1:
        print(
            "bench: --soak ≥ 0, --soak-rate > 0, --soak-users ≥ 1 and --two-process-users ≥ 1 please", file=sys.stderr
        )
        return 2
    bot_env = dict(args.bot_env)
    settings = bot_defaults(bot_env)
    info = machine()
    started = time.monotonic()
    print(
        f"participations-bot benchmark · {info['cpus']} CPUs ({info['cpu']}) · Python {info['python']} · {info['os']}"
    )
    print(
        "bot settings: "
        + ", ".join(f"{name}={value}" for name, value in settings.items())
        + (" (overridden: " + ", ".join(bot_env) + ")" if bot_env else " (defaults)")
    )
    print(f"command: python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(flush=True)
    if args.soak or args.two_processes:  # separate runs, instead of the default scenarios
        from bench.soak import run_soak
        from bench.two_processes import run_two_processes

        separate_runs = ((args.two_processes, run_two_processes), (args.soak, run_soak))
        return max(run_separately(args, bot_env) for wanted, run_separately in separate_runs if wanted)

    results: list[Result] = []
    for plan in planned_scenarios(args):
        print(plan.progress, file=sys.stderr, flush=True)
        results.append(run_scenario(plan, records=args.records, bot_env=bot_env))
    print("… render_page", file=sys.stderr, flush=True)
    render_median, render_p95 = render_timing(args.render_runs)

    for line in table(results, settings):
        print(line)
    print()
    print(
        f"render_page, 100 entries (in-process): median {render_median:.2f} ms, p95 {render_p95:.2f} ms "
        f"over {args.render_runs} runs (target ≤ 5 ms)"
    )
    print(f"total benchmark time: {time.monotonic() - started:.0f} s")

    problems = [f"{r.title}: {problem}" for r in results for problem in r.misbehaved]
    for r in results:
        for name, phase in (("command", r.commands), ("Next", r.clicks)):
            for item in (phase.other_errors if phase else [])[:5]:
                print(f"note: {r.title}: {name} answered with an error — {item}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures_json(results, render_median, render_p95, info, settings), indent=2))
    if report_misbehaviour(problems):
        return 1
    print("result: every user got the right page; no ack failed")
    return 0
