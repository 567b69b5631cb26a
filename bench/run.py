"""`python -m bench`: the bot as users deploy it, driven by concurrent signed requests, figures in a table.

Each scenario starts `participations-bot serve` (the Procfile's command) in its own process, pointed at a loopback
fake HubSpot (latency and rate limit are parameters) and a loopback fake Slack, both from `tests/fakes.py`, which
time every request they handle. Client threads send real `v0`-signed slash commands and Next clicks. Every
simulated user looks up a contact of their own, so each HubSpot request and each Slack post is tied to one user:

    bot overhead = page delivered − command sent − HubSpot handling time − Slack handling time

(Slack handling = the fake's time answering the bot's `users.info`, response_url post or `chat.postMessage`).
Exit status: 0 when every user got the right page; 1 when the bot misbehaved (it did not start, a reply was lost
or wrong, an ack was not HTTP 200); 2 for bad options or a crash of the benchmark itself. Timings never fail the
run: they are figures to read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.process import BotFailedToStart, BotProcess
from tests.support.fakes import FakeHubSpot, FakeSlack, SlackPost, SlackSender, all_text, find_button, participation
from tests.support.waiting import wait_until

SIGNING_SECRET = "bench-signing-secret"  # noqa: S105  (loopback fakes only)
BOT_TOKEN = "xoxb-bench-token"  # noqa: S105
HUBSPOT_TOKEN = "hs-bench-token"  # noqa: S105
PAGE_SIZE = 10  # the bot's default page size
RECORD_NAME = re.compile(r"Bench u(\d{3,}) r(\d{3})")
ACK_DEADLINE_MS = 3000.0


# -- small helpers -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest one)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def fmt(value: float, digits: int = 0) -> str:
    return "–" if value != value else f"{value:,.{digits}f}"  # NaN → dash


def contact_email(user: int) -> str:
    return f"bench-u{user:03d}@example.com"


def user_id(user: int) -> str:
    return f"UB{user:04d}"


def message_ts(user: int) -> str:
    return f"1790{user:06d}.000100"


def records_shown(message: dict[str, Any]) -> set[tuple[int, int]]:
    return {(int(u), int(r)) for u, r in RECORD_NAME.findall(all_text(message))}


def expected_records(user: int, page: int) -> set[tuple[int, int]]:
    first = (page - 1) * PAGE_SIZE + 1
    return {(user, record) for record in range(first, first + PAGE_SIZE)}


def seed_contacts(hubspot: FakeHubSpot, users: int, records: int) -> None:
    for user in range(users):
        email = contact_email(user)
        hubspot.add_contact(
            [
                participation(
                    record,
                    email=email,
                    contact_id=str(50_000 + user),
                    first="Bench",
                    last=f"User {user}",
                    name=f"Bench u{user:03d} r{record:03d}",
                    event_id=f"ev-{user}-{record}",
                    state=("ATTENDED", "REGISTERED", "NO_SHOW", "CANCELLED")[record % 4],
                    percentage="87" if record % 4 == 0 else None,
                    duration=3120 if record % 4 == 0 else None,
                )
                for record in range(1, records + 1)
            ],
            email,
        )


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


# -- one phase: concurrent signed requests, then the replies they caused ----------------------------------------


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


class Scenario:
    """Fresh fakes and a fresh bot process, so every scenario starts cold, as after a deploy."""

    def __init__(
        self,
        *,
        users: int,
        records: int,
        latency_s: float,
        rate_limit: tuple[int, float] | None,
        bot_env: dict[str, str],
    ) -> None:
        self.start_fakes(users=users, records=records, latency_s=latency_s, rate_limit=rate_limit)
        self.bot = BotProcess(self.bot_settings(bot_env))

    def start_fakes(self, *, users: int, records: int, latency_s: float, rate_limit: tuple[int, float] | None) -> None:
        self.hubspot = FakeHubSpot(token=HUBSPOT_TOKEN)
        self.hubspot.latency = latency_s
        self.hubspot.rate_limit = rate_limit
        self.slack = FakeSlack()
        seed_contacts(self.hubspot, users, records)
        self.hubspot.start()
        self.slack.start()

    def bot_settings(self, bot_env: dict[str, str]) -> dict[str, str]:
        """What every bot process of the scenario gets: the fakes' addresses and the benchmark's credentials."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
            "HUBSPOT_API_BASE": self.hubspot.url,
            "SLACK_API_URL": self.slack.api_url,
            **bot_env,
        }

    def sender(self) -> SlackSender:
        return SlackSender(self.bot.url + "/slack/events", SIGNING_SECRET, self.slack)

    def close(self) -> None:
        self.bot.close()
        self.hubspot.stop()
        self.slack.stop()

    # -- snapshots of what the fakes saw -----------------------------------------------------------------------

    def slack_posts(self) -> list[SlackPost]:
        with self.slack.lock:
            return [post for post in self.slack.posts if post.finished]

    def hubspot_seconds(self, user: int, *, after: bool) -> float:
        """Time the fake HubSpot spent answering this user's lookups (retries included)."""
        email = contact_email(user)
        with self.hubspot.lock:
            calls = list(self.hubspot.calls)
        return sum(
            call.finished - call.started
            for call in calls
            if call.identifier.lower() == email and ("after" in call.query) == after and call.finished
        )

    def users_info_seconds(self, posts: Sequence[SlackPost], user: int, since: float, until: float) -> float:
        return sum(
            post.finished - post.started
            for post in posts
            if post.kind == "api"
            and post.name == "users.info"
            and post.body.get("user") == user_id(user)
            and since <= post.started <= until
        )


def run_commands(scenario: Scenario, users: Sequence[int], clients: int, timeout: float) -> Phase:
    phase = Phase()
    phase.sent = burst(
        users,
        clients,
        scenario.sender,
        lambda sender, user: sender.command(
            contact_email(user), user=user_id(user), channel="CBENCH", response_name=f"cmd-{user:04d}"
        )[0],
        timeout=30,
    )
    waiting = {f"cmd-{user:04d}": user for user, sent in phase.sent.items() if sent.status == 200}

    def replies() -> dict[int, SlackPost]:
        found: dict[int, SlackPost] = {}
        for post in scenario.slack_posts():
            if post.kind == "response_url" and post.name in waiting and waiting[post.name] not in found:
                found[waiting[post.name]] = post
        return found

    wait_until(lambda: len(replies()) >= len(waiting), timeout, check=False)
    found = replies()
    posts = scenario.slack_posts()
    first_sent = min((s.started for s in phase.sent.values()), default=time.monotonic())
    rate_limit_text = catalogue_text("error.rate_limited")
    for user, sent in sorted(phase.sent.items()):
        if sent.status != 200:
            continue
        post = found.get(user)
        if post is None:
            phase.lost.append(user)
            continue
        phase.last_reply_s = max(phase.last_reply_s, post.finished - first_sent)
        shown = records_shown(post.body)
        if not shown:
            text = all_text(post.body)
            if rate_limit_text and rate_limit_text in text:
                phase.rate_limited.append(user)
            else:
                phase.other_errors.append(f"user {user}: {text[:160]!r}")
            continue
        if shown != expected_records(user, 1):
            phase.wrong.append(f"command of user {user}: page 1 showed records {sorted(shown)[:4]}…")
            continue
        phase.pages[user] = post.body
        delivered = post.finished - sent.started
        slack = (post.finished - post.started) + scenario.users_info_seconds(posts, user, sent.started, post.started)
        phase.delivered_ms.append(delivered * 1000)
        phase.overhead_ms.append((delivered - scenario.hubspot_seconds(user, after=False) - slack) * 1000)
    return phase


def next_buttons(pages: dict[int, dict[str, Any]], wrong: list[str]) -> dict[int, str]:
    """Each user's Next button value from their page 1; a page without one is noted in `wrong`."""
    buttons: dict[int, str] = {}
    for user, message in pages.items():
        button = find_button(message.get("blocks") or [])
        if button is None or not button.get("value"):
            wrong.append(f"user {user}: page 1 of {PAGE_SIZE} records has no Next button")
        else:
            buttons[user] = str(button["value"])
    return buttons


def run_clicks(scenario: Scenario, pages: dict[int, dict[str, Any]], clients: int, timeout: float) -> Phase:
    phase = Phase()
    buttons = next_buttons(pages, phase.wrong)
    users = sorted(buttons)

    def click(sender: SlackSender, user: int) -> Any:
        message = pages[user]
        return sender.click(
            buttons[user],
            message={"type": "message", "text": message.get("text", ""), "blocks": message.get("blocks", [])},
            user=user_id(user),
            channel="CBENCH",
            message_ts=message_ts(user),
            response_name=f"click-{user:04d}",
        )[0]

    phase.sent = burst(users, clients, scenario.sender, click, timeout=30)
    waiting = {message_ts(user): user for user, sent in phase.sent.items() if sent.status == 200}
    by_name = {f"click-{user:04d}": user for user in waiting.values()}

    def threaded_pages() -> dict[int, SlackPost]:
        found: dict[int, SlackPost] = {}
        for post in scenario.slack_posts():
            if post.kind == "api" and post.name == "chat.postMessage":
                user = waiting.get(str(post.body.get("thread_ts")))
            elif post.kind == "response_url" and post.body.get("thread_ts"):
                user = by_name.get(post.name)  # the response_url fallback, also in the thread
            else:
                continue
            if user is not None and user not in found:
                found[user] = post
        return found

    def error_replies() -> dict[int, SlackPost]:
        return {
            by_name[post.name]: post
            for post in scenario.slack_posts()
            if post.kind == "response_url" and post.name in by_name and post.body.get("response_type") == "ephemeral"
        }

    wait_until(lambda: len(threaded_pages()) + len(error_replies()) >= len(waiting), timeout, check=False)
    found = threaded_pages()
    errors = error_replies()
    posts = scenario.slack_posts()
    first_sent = min((s.started for s in phase.sent.values()), default=time.monotonic())
    for user, sent in sorted(phase.sent.items()):
        if sent.status != 200:
            continue
        post = found.get(user)
        if post is None:
            if user in errors:
                phase.other_errors.append(f"user {user}: {all_text(errors[user].body)[:160]!r}")
            else:
                phase.lost.append(user)
            continue
        phase.last_reply_s = max(phase.last_reply_s, post.finished - first_sent)
        shown = records_shown(post.body)
        if shown != expected_records(user, 2):
            phase.wrong.append(f"Next of user {user}: page 2 showed records {sorted(shown)[:4]}…")
            continue
        delivered = post.finished - sent.started
        slack = (post.finished - post.started) + scenario.users_info_seconds(posts, user, sent.started, post.started)
        phase.delivered_ms.append(delivered * 1000)
        phase.overhead_ms.append((delivered - scenario.hubspot_seconds(user, after=True) - slack) * 1000)
    return phase


def catalogue_text(key: str) -> str:
    """An English text from the bot's own catalogue (so the benchmark follows wording changes)."""
    try:
        from bot.i18n import Translator

        return Translator("en")(key)
    except Exception:
        return ""


# -- scenarios --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    title: str
    startup_ms: float = float("nan")
    rss_kb: dict[int, int] = field(default_factory=dict)
    commands: Phase | None = None
    clicks: Phase | None = None
    hubspot_requests: int = 0
    hubspot_connections: int = 0
    hubspot_429: int = 0
    slack_requests: int = 0
    slack_connections: int = 0
    startup_cpu_s: float = float("nan")
    load_cpu_s: float = float("nan")
    bench_cpu_s: float = float("nan")
    failure: str = ""
    # With a healthy, unlimited fake HubSpot every user must get their page: an error reply is a wrong reply.
    errors_are_wrong: bool = True

    @property
    def misbehaved(self) -> list[str]:
        problems: list[str] = [self.failure] if self.failure else []
        for name, phase in (("command", self.commands), ("Next", self.clicks)):
            if phase is None:
                continue
            problems += [f"{name} ack not 200 — {item}" for item in phase.bad_acks]
            problems += [f"{name} reply lost — user {user}" for user in phase.lost]
            problems += [f"wrong content — {item}" for item in phase.wrong]
            if self.errors_are_wrong:
                problems += [f"{name}: an error instead of the page — {item}" for item in phase.other_errors]
                problems += [f"{name}: rate-limit error for user {user}" for user in phase.rate_limited]
        return problems


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


def run_scenario(
    title: str,
    *,
    users: int,
    clients: int,
    records: int,
    latency_s: float,
    rate_limit: tuple[int, float] | None,
    clicks: bool,
    reply_timeout: float,
    bot_env: dict[str, str],
    one_at_a_time: bool = False,
) -> Result:
    result = Result(title, errors_are_wrong=rate_limit is None)
    scenario = Scenario(users=users, records=records, latency_s=latency_s, rate_limit=rate_limit, bot_env=bot_env)
    try:
        result.startup_ms = scenario.bot.start() * 1000
        result.startup_cpu_s = scenario.bot.cpu_seconds()
        bench_cpu_before = time.process_time()
        if one_at_a_time:  # each user waits for their page before the next one types: no queueing at all
            result.commands = merge([run_commands(scenario, [user], 1, reply_timeout) for user in range(users)])
            if clicks:
                pages = result.commands.pages
                result.clicks = merge([run_clicks(scenario, {u: pages[u]}, 1, reply_timeout) for u in sorted(pages)])
        else:
            result.commands = run_commands(scenario, list(range(users)), clients, reply_timeout)
            if clicks:
                result.clicks = run_clicks(scenario, result.commands.pages, clients, reply_timeout)
        if result.clicks is not None:
            # Let the bot finish retiring the clicked buttons before it is stopped (bounded, not measured).
            retire = {f"click-{user:04d}" for user, s in result.clicks.sent.items() if s.status == 200}
            wait_until(
                lambda: len({p.name for p in scenario.slack_posts() if p.name in retire}) >= len(retire),
                timeout=5,
                check=False,
            )
        result.rss_kb = scenario.bot.peak_rss_kb()
        result.load_cpu_s = scenario.bot.cpu_seconds() - result.startup_cpu_s
        result.bench_cpu_s = time.process_time() - bench_cpu_before
    except BotFailedToStart as exc:
        result.failure = f"the bot did not start: {exc}"
    finally:
        scenario.bot.stop()
        with scenario.hubspot.lock:
            result.hubspot_requests = len(scenario.hubspot.calls)
        result.hubspot_connections = scenario.hubspot.server.connections
        result.hubspot_429 = scenario.hubspot.rate_limited_count
        result.slack_requests = len(scenario.slack.posts)
        result.slack_connections = scenario.slack.server.connections
        if result.misbehaved and not result.failure:
            sys.stderr.write(f"--- bot log ({title}), last lines ---\n{scenario.bot.log_tail(40)}\n")
        scenario.close()
    return result


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


# -- report ----------------------------------------------------------------------------------------------------


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


def table(results: Sequence[Result], settings: dict[str, int]) -> list[str]:
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


def bot_defaults(overrides: dict[str, str]) -> dict[str, int]:
    from bot.config import load_settings

    settings = load_settings(overrides, dotenv=False)
    return {
        "HUBSPOT_MAX_CONCURRENCY": settings.hubspot_max_concurrency,
        "HUBSPOT_REQUESTS_PER_10S": settings.hubspot_requests_per_10s,
        "LISTENER_WORKERS": settings.listener_workers,
        "HTTP_THREADS": settings.http_threads,
    }


# -- command line ----------------------------------------------------------------------------------------------


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

        statuses = []
        if args.two_processes:
            statuses.append(run_two_processes(args, bot_env))
        if args.soak:
            statuses.append(run_soak(args, bot_env))
        return max(statuses)

    results: list[Result] = []
    for latency_ms in args.latencies:
        title = f"C={args.concurrency}, L={latency_ms:g} ms"
        print(f"… burst {title}", file=sys.stderr, flush=True)
        results.append(
            run_scenario(
                title,
                users=args.concurrency,
                clients=args.concurrency,
                records=args.records,
                latency_s=latency_ms / 1000,
                rate_limit=None,
                clicks=True,
                reply_timeout=args.reply_timeout,
                bot_env=bot_env,
            )
        )
    if args.sequential > 0:
        latency_ms = args.latencies[-1]
        title = f"1 at a time ×{args.sequential}, L={latency_ms:g} ms"
        print(f"… {title}", file=sys.stderr, flush=True)
        results.append(
            run_scenario(
                title,
                users=args.sequential,
                clients=1,
                records=args.records,
                latency_s=latency_ms / 1000,
                rate_limit=None,
                clicks=True,
                reply_timeout=args.reply_timeout,
                bot_env=bot_env,
                one_at_a_time=True,
            )
        )
    if not args.skip_rate_limit:
        limit, window = args.rate_limit
        title = f"{args.rate_limit_commands} cmds vs {limit} req/{window:g} s, L={args.rate_limit_latency:g} ms"
        print(f"… rate limit: {title}", file=sys.stderr, flush=True)
        results.append(
            run_scenario(
                title,
                users=args.rate_limit_commands,
                clients=args.concurrency,
                records=args.records,
                latency_s=args.rate_limit_latency / 1000,
                rate_limit=(limit, window),
                clicks=False,
                reply_timeout=max(args.reply_timeout, 2 * window + 20),
                bot_env=bot_env,
            )
        )
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


def report_misbehaviour(problems: Sequence[str]) -> bool:
    """Print what the bot did wrong (the first 30); True when there was anything (exit status 1)."""
    if problems:
        print(f"\nMISBEHAVIOUR ({len(problems)}):", file=sys.stderr)
        for problem in problems[:30]:
            print(f"  {problem}", file=sys.stderr)
    return bool(problems)


def figures_json(
    results: Sequence[Result], render_median: float, render_p95: float, info: dict[str, str], settings: dict[str, int]
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
