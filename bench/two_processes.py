"""`python -m bench --two-processes`: two `serve` processes sharing one Redis, as a two-dyno deployment runs.

Both processes get the same `REDIS_URL` (a `redis-server` the benchmark starts on a free loopback port) and one
fake HubSpot that enforces its limit (default 100 requests per rolling 10 s) across both, as HubSpot does per
app and account. Users' commands are spread over the two processes; then every user's Next button is clicked
twice at the same moment, once on each process (two people, or one impatient person behind a load balancer).

What it reports: duplicate pages posted (a double click must post page 2 once), HubSpot's 429s (the processes
must pace together), `users.info` calls (one per user when the language cache is shared), ack p99 and the bot's
overhead, and what Redis holds afterwards. A bot that ignores `REDIS_URL` shows the one-process-each behaviour:
duplicates, more 429s, a `users.info` per user per process.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.measure import Phase, Sent, percentile
from bench.process import BotFailedToStart, BotProcess
from bench.report import fmt, report_misbehaviour
from bench.scenarios import (
    SIGNING_SECRET,
    Scenario,
    catalogue_text,
    expected_records,
    message_ts,
    next_buttons,
    records_shown,
    run_commands,
    user_id,
)
from tests.support.redis_server import RedisServer
from tests.support.slack import SlackSender, all_text
from tests.support.waiting import wait_until

# After every double click has its first page 2, how long later duplicates may still land (they are counted).
SETTLE_SECONDS = 3.0


class TwoProcessScenario(Scenario):
    """The fakes, a redis-server and two bots; `sender()` alternates between the bots."""

    def __init__(
        self, *, users: int, records: int, latency_s: float, rate_limit: tuple[int, float], bot_env: dict[str, str]
    ) -> None:
        self.start_fakes(users=users, records=records, latency_s=latency_s, rate_limit=rate_limit)
        self.redis = RedisServer()
        self._env = self.bot_settings(bot_env)
        self.bots: list[BotProcess] = []
        self._turn = itertools.count()
        self._turn_lock = threading.Lock()

    def start(self) -> float:
        """Start Redis, then both bots side by side; seconds until both answer /healthz."""
        self.redis.start()
        env = {**self._env, "REDIS_URL": self.redis.url}
        self.bots = [BotProcess(dict(env)), BotProcess(dict(env))]
        started = time.monotonic()
        for bot in self.bots:
            bot.start()
        self.bot = self.bots[0]  # what Scenario's helpers call `bot`
        return time.monotonic() - started

    def sender(self) -> SlackSender:
        with self._turn_lock:
            turn = next(self._turn)
        return self.sender_for(self.bots[turn % len(self.bots)])

    def sender_for(self, bot: BotProcess) -> SlackSender:
        return SlackSender(bot.url + "/slack/events", SIGNING_SECRET, self.slack)

    def close(self) -> None:
        for bot in self.bots:
            bot.close()
        self.redis.stop()
        self.hubspot.stop()
        self.slack.stop()


@dataclass
class DoubleClicks:
    """Every user's Next clicked on both processes at once."""

    sent: list[Sent] = field(default_factory=list)  # both clicks of every user
    pages_per_user: dict[int, int] = field(default_factory=dict)  # page-2 posts in the thread, per user
    already_told: int = 0  # second clicks answered "already on its way"
    delivered_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def acks(self) -> list[float]:
        return [s.ack_ms for s in self.sent if s.status == 200]

    @property
    def bad_acks(self) -> list[str]:
        return [f"user {s.user}: {s.error or s.status}" for s in self.sent if s.status != 200]

    @property
    def duplicates(self) -> int:
        return sum(max(0, count - 1) for count in self.pages_per_user.values())


def double_clicks(
    scenario: TwoProcessScenario, pages: dict[int, dict[str, Any]], clients: int, timeout: float
) -> DoubleClicks:
    result = DoubleClicks()
    buttons = next_buttons(pages, result.wrong)
    users = sorted(buttons)
    shares = [users[index::clients] for index in range(min(clients, len(users)))]
    # One client per share and per process, released together: user u's two clicks leave at the same moment.
    barrier = threading.Barrier(2 * len(shares)) if shares else None
    sent_lock = threading.Lock()
    first_sent: dict[int, float] = {}

    def client(share: list[int], bot: BotProcess, side: str) -> None:
        sender = scenario.sender_for(bot)
        try:
            assert barrier is not None
            barrier.wait(timeout=10)
            for user in share:
                message = pages[user]
                record = Sent(user, started=time.monotonic())
                try:
                    response, _ = sender.click(
                        buttons[user],
                        message={"type": "message", "text": message.get("text", ""), "blocks": message["blocks"]},
                        user=user_id(user),
                        channel="CBENCH",
                        message_ts=message_ts(user),
                        response_name=f"click-{side}-{user:04d}",
                    )
                    record.status = response.status_code
                except Exception as exc:  # a refused or timed-out ack is a finding
                    record.error = type(exc).__name__
                record.ack_ms = (time.monotonic() - record.started) * 1000
                with sent_lock:
                    result.sent.append(record)
                    first_sent[user] = min(first_sent.get(user, record.started), record.started)
        finally:
            sender.session.close()

    threads = [
        threading.Thread(target=client, args=(share, bot, side), daemon=True)
        for share in shares
        for bot, side in zip(scenario.bots, "AB", strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    thread_of = {message_ts(user): user for user in users}
    names = {f"click-{side}-{user:04d}": user for user in users for side in "AB"}
    already = {catalogue_text("next.already"), catalogue_text("error.already_posted")} - {""}

    def page_twos() -> dict[int, list[Any]]:
        found: dict[int, list[Any]] = {}
        for post in scenario.slack_posts():
            if post.kind == "api" and post.name == "chat.postMessage":
                user = thread_of.get(str(post.body.get("thread_ts")))
            elif post.kind == "response_url" and post.body.get("thread_ts"):
                user = names.get(post.name)
            else:
                continue
            if user is not None:
                found.setdefault(user, []).append(post)
        return found

    wait_until(lambda: len(page_twos()) >= len(users), timeout, check=False)
    time.sleep(SETTLE_SECONDS)  # a duplicate from the other process may land just after the first page
    found = page_twos()
    ephemeral = Counter()
    for post in scenario.slack_posts():
        if post.kind == "response_url" and post.name in names and post.body.get("response_type") == "ephemeral":
            text = all_text(post.body)
            if any(phrase and phrase in text for phrase in already):
                result.already_told += 1
            else:
                ephemeral[names[post.name]] += 1
                result.errors.append(f"user {names[post.name]}: {text[:160]!r}")
    posts = scenario.slack_posts()
    for user in users:
        user_posts = sorted(found.get(user, []), key=lambda post: post.finished)
        if not user_posts:
            if not ephemeral[user]:
                result.lost.append(user)
            continue
        result.pages_per_user[user] = len(user_posts)
        first = user_posts[0]
        if records_shown(first.body) != expected_records(user, 2):
            result.wrong.append(f"Next of user {user}: page 2 showed other records")
            continue
        delivered = first.finished - first_sent[user]
        slack = (first.finished - first.started) + scenario.users_info_seconds(
            posts, user, first_sent[user], first.started
        )
        result.delivered_ms.append(delivered * 1000)
        # Both clicks' lookups may have reached HubSpot: count one lookup's share of HubSpot's time.
        hubspot = scenario.hubspot_seconds(user, after=True) / len(user_posts)
        result.overhead_ms.append((delivered - hubspot - slack) * 1000)
    return result


# -- the run and its table -----------------------------------------------------------------------------------------


def quartiles(values: Sequence[float], points: Sequence[float], digits: int = 0) -> str:
    if not values:
        return "–"
    return " / ".join(fmt(percentile(values, q), digits) for q in points)


def run_two_processes(args: Any, bot_env: dict[str, str]) -> int:
    users = args.two_process_users
    limit, window = args.rate_limit
    latency_ms = args.rate_limit_latency
    title = f"2 × serve + Redis, {users} users, {limit} req/{window:g} s, L={latency_ms:g} ms"
    print(f"… {title}", file=sys.stderr, flush=True)
    scenario = TwoProcessScenario(
        users=users, records=args.records, latency_s=latency_ms / 1000, rate_limit=(limit, window), bot_env=bot_env
    )
    reply_timeout = max(args.reply_timeout, 4 * window + 30)
    problems: list[str] = []
    commands: Phase | None = None
    clicks: DoubleClicks | None = None
    startup_s = float("nan")
    peak_kb: list[int] = []
    redis_keys, redis_bytes = 0, 0
    users_info = 0
    try:
        startup_s = scenario.start()
        commands = run_commands(scenario, list(range(users)), args.concurrency, reply_timeout)
        clicks = double_clicks(scenario, commands.pages, args.concurrency, reply_timeout)
        peak_kb = [kb for bot in scenario.bots for kb in bot.peak_rss_kb().values()]
        redis_keys, redis_bytes = scenario.redis.keys_and_memory()
        users_info = sum(1 for p in scenario.slack_posts() if p.kind == "api" and p.name == "users.info")
    except BotFailedToStart as exc:
        problems.append(f"a bot did not start: {exc}")
    finally:
        with scenario.hubspot.lock:
            hubspot_requests = len(scenario.hubspot.calls)
        hubspot_429 = scenario.hubspot.rate_limited_count
        if commands is not None:
            problems += [f"command ack not 200 — {item}" for item in commands.bad_acks]
            problems += [f"command reply lost — user {user}" for user in commands.lost]
            problems += commands.wrong
        if clicks is not None:
            problems += [f"Next ack not 200 — {item}" for item in clicks.bad_acks]
            problems += [f"Next reply lost — user {user}" for user in clicks.lost]
            problems += clicks.wrong
        if problems:
            for index, bot in enumerate(scenario.bots):
                sys.stderr.write(f"--- bot {'AB'[index]} log, last lines ---\n{bot.log_tail(30)}\n")
        scenario.close()

    both_acks = (commands.acks if commands else []) + (clicks.acks if clicks else [])
    rows = [
        ("start → both /healthz 200 (ms)", "", fmt(startup_s * 1000)),
        ("peak RSS per process, masters + workers (MB)", "", " + ".join(f"{kb / 1024:.1f}" for kb in peak_kb) or "–"),
        (
            "command ack p50 / p95 / p99 / max (ms)",
            "p99 ≤ 100",
            quartiles(commands.acks if commands else [], (0.5, 0.95, 0.99, 1.0)),
        ),
        (
            "Next ack (both clicks) p50 / p95 / p99 / max (ms)",
            "p99 ≤ 100",
            quartiles(clicks.acks if clicks else [], (0.5, 0.95, 0.99, 1.0)),
        ),
        ("all acks p99 (ms)", "≤ 100", quartiles(both_acks, (0.99,))),
        (
            "command → page p50 / p95 / max (ms)",
            "",
            quartiles(commands.delivered_ms if commands else [], (0.5, 0.95, 1.0)),
        ),
        (
            "command bot overhead p50 / p95 (ms)",
            "",
            quartiles(commands.overhead_ms if commands else [], (0.5, 0.95), 1),
        ),
        (
            "double click → first page 2 p50 / p95 / max (ms)",
            "",
            quartiles(clicks.delivered_ms if clicks else [], (0.5, 0.95, 1.0)),
        ),
        ("Next bot overhead p50 / p95 (ms)", "", quartiles(clicks.overhead_ms if clicks else [], (0.5, 0.95), 1)),
        (
            "command replies",
            "",
            "–"
            if commands is None
            else f"{len(commands.pages)} ok, {len(commands.rate_limited)} rate-limit error, "
            f"{len(commands.other_errors)} other error, {len(commands.lost)} lost",
        ),
        (
            "double clicks: page 2 posted / duplicates",
            "dup 0",
            "–" if clicks is None else f"{len(clicks.pages_per_user)} / {clicks.duplicates}",
        ),
        ("second clicks told 'already on its way'", "", "–" if clicks is None else str(clicks.already_told)),
        ("clicks answered with an error (e.g. rate limit)", "0", "–" if clicks is None else str(len(clicks.errors))),
        ("HubSpot requests / 429s", "429s ≤ a handful", f"{hubspot_requests} / {hubspot_429}"),
        ("users.info calls", f"{users} when shared", str(users_info)),
        ("Redis keys / used memory after the run", "", f"{redis_keys} / {redis_bytes / 2**20:.1f} MiB"),
    ]
    print(f"| figure | target | {title} |")
    print("|---|---|---|")
    for label, target, cell in rows:
        print(f"| {label} | {target} | {cell} |")
    print()
    for item in ((commands.other_errors if commands else []) + (clicks.errors if clicks else []))[:5]:
        print(f"note: answered with an error — {item}")
    if report_misbehaviour(problems):
        return 1
    print("result: every user got their pages; no ack failed (duplicates and 429s are figures, not failures)")
    return 0
