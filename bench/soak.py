"""`python -m bench --soak N`: does one `serve` process keep memory flat over N lookups?

N lookups at a steady rate (each a signed `/participations` command, then a click on its Next button once page 1
has arrived) against one real `participations-bot serve` and the loopback fakes. Every 500 lookups it prints the
resident memory (VmRSS) of the gunicorn worker and of the master, the worker's threads, and the ack p99 of that
stretch; at the end, the worker's growth after warm-up (the first checkpoint), per lookup. A flat worker after
warm-up means the process keeps nothing per lookup; a steady climb is a leak or allocator fragmentation.

The soak keeps the fakes from growing with it (it reads and drops what they recorded), so the benchmark's own
memory stays flat too; only the bot's memory is measured.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.measure import percentile
from bench.process import BotFailedToStart, BotProcess, children_of, status_kb
from bench.report import fmt, report_misbehaviour
from bench.scenarios import (
    BOT_TOKEN,
    HUBSPOT_TOKEN,
    SIGNING_SECRET,
    contact_email,
    expected_records,
    records_shown,
    seed_contacts,
    user_id,
)
from tests.support.hubspot import FakeHubSpot
from tests.support.redis_server import RedisServer
from tests.support.slack import FakeSlack, SlackSender, find_button

CHECKPOINT_EVERY = 500
# The fake HubSpot advertises (and enforces) a window this soak never fills, and the bot may use it: the soak
# measures memory, not pacing (40 HubSpot requests/s at the default rate, above the bot's default 90 per 10 s).
SOAK_HUBSPOT_WINDOW = (1000, 10.0)


def soak_message_ts(lookup: int) -> str:
    return f"1791{lookup:06d}.000100"


@dataclass
class Checkpoint:
    lookups: int
    seconds: float
    worker_kb: int
    master_kb: int
    worker_threads: int
    ack_p99_ms: float
    redis_keys: int | None = None
    redis_bytes: int | None = None


@dataclass
class SoakResult:
    lookups: int
    rate: float
    checkpoints: list[Checkpoint] = field(default_factory=list)
    ok: int = 0
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    failure: str = ""
    redis: bool = False

    @property
    def misbehaved(self) -> list[str]:
        return ([self.failure] if self.failure else []) + self.lost + self.wrong

    def growth_kb(self) -> tuple[int, int] | None:
        """(worker KiB grown from the first checkpoint to the last, lookups in between)."""
        if len(self.checkpoints) < 2:
            return None
        first, last = self.checkpoints[0], self.checkpoints[-1]
        return last.worker_kb - first.worker_kb, last.lookups - first.lookups


class PostWatcher:
    """Reads what the fake Slack received as it arrives, wakes the lookup waiting for it, and forgets it."""

    def __init__(self, slack: FakeSlack, hubspot: FakeHubSpot) -> None:
        self._slack = slack
        self._hubspot = hubspot
        self._found: dict[str, dict[str, Any]] = {}
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-watcher", daemon=True)

    def start(self) -> PostWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading; lookups still waiting give up at once (a soak interrupted with Ctrl+C exits promptly)."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            with self._slack.lock:
                posts = list(self._slack.posts)
                self._slack.posts.clear()
            with self._hubspot.lock:
                self._hubspot.calls.clear()
            found: dict[str, dict[str, Any]] = {}
            for post in posts:
                if post.kind == "response_url" and post.name.startswith("cmd-"):
                    found.setdefault(post.name, post.body)
                elif post.kind == "api" and post.name == "chat.postMessage" and post.body.get("thread_ts"):
                    found.setdefault(f"thread-{post.body['thread_ts']}", post.body)
                elif post.kind == "response_url" and post.name.startswith("click-"):
                    if post.body.get("thread_ts"):  # the response_url fallback also posts in the thread
                        found.setdefault(f"thread-{post.body['thread_ts']}", post.body)
                    elif post.body.get("response_type") == "ephemeral":
                        found.setdefault(f"error-{post.name}", post.body)
            if found:
                with self._ready:
                    for key, body in found.items():
                        self._found.setdefault(key, body)
                    self._ready.notify_all()

    def wait(self, keys: tuple[str, ...], timeout: float) -> tuple[str, dict[str, Any]] | None:
        """The first of `keys` to arrive (and its body), removed; None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while True:
                for key in keys:
                    if key in self._found:
                        return key, self._found.pop(key)
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._ready.wait(left)


class Soak:
    def __init__(
        self,
        lookups: int,
        *,
        rate: float,
        users: int,
        records: int,
        latency_s: float,
        bot_env: dict[str, str],
        redis: bool,
        reply_timeout: float,
        every: int = CHECKPOINT_EVERY,
        progress: Callable[[Checkpoint], None] | None = None,
    ) -> None:
        self.lookups = lookups
        self.rate = rate
        self.users = users
        self.every = every
        self.reply_timeout = reply_timeout
        self.progress = progress
        self.result = SoakResult(lookups, rate, redis=redis)
        self.redis = RedisServer() if redis else None
        self.hubspot = FakeHubSpot(token=HUBSPOT_TOKEN)
        self.hubspot.latency = latency_s
        self.hubspot.rate_limit = SOAK_HUBSPOT_WINDOW
        self.slack = FakeSlack()
        seed_contacts(self.hubspot, users, records)
        self.bot_env = {"HUBSPOT_REQUESTS_PER_10S": str(SOAK_HUBSPOT_WINDOW[0]), **bot_env}
        self._senders = threading.local()
        self._lock = threading.Lock()
        self._done = 0
        self._acks: list[float] = []

    # -- one lookup ----------------------------------------------------------------------------------------------

    def _sender(self, bot: BotProcess) -> SlackSender:
        sender = getattr(self._senders, "sender", None)
        if sender is None:
            sender = SlackSender(bot.url + "/slack/events", SIGNING_SECRET, self.slack)
            self._senders.sender = sender
        return sender

    def _lookup(self, bot: BotProcess, watcher: PostWatcher, index: int) -> None:
        user = index % self.users
        sender = self._sender(bot)
        acks: list[float] = []
        problem = ""
        try:
            started = time.monotonic()
            response, _ = sender.command(
                contact_email(user), user=user_id(user), channel="CSOAK", response_name=f"cmd-{index}"
            )
            acks.append((time.monotonic() - started) * 1000)
            if response.status_code != 200:
                problem = f"lookup {index}: command ack {response.status_code}"
                return
            got = watcher.wait((f"cmd-{index}",), self.reply_timeout)
            if got is None:
                problem = f"lookup {index}: page 1 lost"
                return
            page = got[1]
            if records_shown(page) != expected_records(user, 1):
                problem = f"lookup {index}: page 1 is not user {user}'s"
                return
            button = find_button(page.get("blocks") or [])
            if button is None:
                problem = f"lookup {index}: page 1 has no Next button"
                return
            ts = soak_message_ts(index)
            started = time.monotonic()
            response, _ = sender.click(
                str(button["value"]),
                message={"type": "message", "text": page.get("text", ""), "blocks": page.get("blocks", [])},
                user=user_id(user),
                channel="CSOAK",
                message_ts=ts,
                response_name=f"click-{index}",
            )
            acks.append((time.monotonic() - started) * 1000)
            if response.status_code != 200:
                problem = f"lookup {index}: Next ack {response.status_code}"
                return
            got = watcher.wait((f"thread-{ts}", f"error-click-{index}"), self.reply_timeout)
            if got is None:
                problem = f"lookup {index}: page 2 lost"
            elif got[0].startswith("error-") or records_shown(got[1]) != expected_records(user, 2):
                problem = f"lookup {index}: page 2 wrong or an error"
        except Exception as exc:  # a refused or timed-out request is a finding
            problem = f"lookup {index}: {type(exc).__name__}"
        finally:
            with self._lock:
                self._acks.extend(acks)
                self._done += 1
                if not problem:
                    self.result.ok += 1
                elif "lost" in problem or "ack" in problem or "Error" in problem:
                    self.result.lost.append(problem)
                else:
                    self.result.wrong.append(problem)

    # -- the run -------------------------------------------------------------------------------------------------

    def _checkpoint(self, bot: BotProcess, lookups: int, started: float) -> Checkpoint:
        master = bot.pids()[0] if bot.pids() else 0
        workers = children_of(master) if master else []
        worker = workers[0] if workers else 0
        with self._lock:
            acks, self._acks = self._acks, []
        point = Checkpoint(
            lookups=lookups,
            seconds=time.monotonic() - started,
            worker_kb=status_kb(worker, "VmRSS"),
            master_kb=status_kb(master, "VmRSS"),
            worker_threads=status_kb(worker, "Threads"),
            ack_p99_ms=percentile(acks, 0.99),
        )
        if self.redis is not None:
            point.redis_keys, point.redis_bytes = self.redis.keys_and_memory()
        self.result.checkpoints.append(point)
        if self.progress is not None:
            self.progress(point)
        return point

    def run(self) -> SoakResult:
        self.hubspot.start()
        self.slack.start()
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
            "HUBSPOT_API_BASE": self.hubspot.url,
            "SLACK_API_URL": self.slack.api_url,
            **self.bot_env,
        }
        bot: BotProcess | None = None
        watcher = PostWatcher(self.slack, self.hubspot).start()
        # Enough clients that a slow reply never holds the steady rate back; each lookup takes about 2 latencies.
        pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="soak-client")
        try:
            if self.redis is not None:
                self.redis.start()
                env["REDIS_URL"] = self.redis.url
            bot = BotProcess(env)
            bot.start()
            started = time.monotonic()
            next_checkpoint = self.every
            for index in range(self.lookups):
                delay = started + index / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._lookup, bot, watcher, index)
                with self._lock:
                    done = self._done
                while done >= next_checkpoint:
                    self._checkpoint(bot, next_checkpoint, started)
                    next_checkpoint += self.every
            pool.shutdown(wait=True)
            while next_checkpoint <= self.lookups:
                self._checkpoint(bot, next_checkpoint, started)
                next_checkpoint += self.every
            if self.lookups % self.every:
                self._checkpoint(bot, self.lookups, started)
        except BotFailedToStart as exc:
            self.result.failure = f"the bot did not start: {exc}"
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            watcher.stop()
            if bot is not None:
                if self.result.misbehaved and not self.result.failure:
                    sys.stderr.write(f"--- bot log (soak), last lines ---\n{bot.log_tail(40)}\n")
                bot.close()
            if self.redis is not None:
                self.redis.stop()
            self.hubspot.stop()
            self.slack.stop()
        return self.result


# -- report ----------------------------------------------------------------------------------------------------


def mib(kb: int) -> str:
    return f"{kb / 1024:.1f}"


def checkpoint_header(redis: bool) -> list[str]:
    columns = ["lookups", "s", "worker RSS (MiB)", "master RSS (MiB)", "worker threads", "ack p99 (ms)"]
    if redis:
        columns += ["Redis keys", "Redis used (MiB)"]
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def checkpoint_row(point: Checkpoint) -> str:
    cells = [
        f"{point.lookups:,}",
        f"{point.seconds:.0f}",
        mib(point.worker_kb),
        mib(point.master_kb),
        str(point.worker_threads),
        fmt(point.ack_p99_ms, 0 if point.ack_p99_ms >= 10 else 1),
    ]
    if point.redis_keys is not None:
        cells += [f"{point.redis_keys:,}", mib((point.redis_bytes or 0) // 1024)]
    return "| " + " | ".join(cells) + " |"


def summary_lines(result: SoakResult) -> list[str]:
    lines = [
        f"lookups: {result.ok:,} ok, {len(result.lost)} lost, {len(result.wrong)} wrong "
        f"(each a command and a Next click)"
    ]
    growth = result.growth_kb()
    if growth is not None:
        grown, lookups = growth
        first, last = result.checkpoints[0], result.checkpoints[-1]
        lines.append(
            f"worker growth after warm-up ({first.lookups:,} → {last.lookups:,} lookups): "
            f"{grown / 1024:+.1f} MiB ({grown * 1024 / max(lookups, 1):+,.0f} bytes per lookup); "
            f"ack p99 median over checkpoints {statistics.median(p.ack_p99_ms for p in result.checkpoints):.0f} ms"
        )
    return lines


def soak_json(result: SoakResult) -> dict[str, Any]:
    return {
        "lookups": result.lookups,
        "rate_per_s": result.rate,
        "redis": result.redis,
        "ok": result.ok,
        "lost": result.lost,
        "wrong": result.wrong,
        "checkpoints": [point.__dict__ for point in result.checkpoints],
    }


def run_soak(args: Any, bot_env: dict[str, str]) -> int:
    """The `--soak N` run: prints the checkpoints as they come, then the table; the exit status of `bench`."""
    latency_ms = args.latencies[-1]
    redis = bool(args.soak_redis)
    print(
        f"soak: {args.soak:,} lookups (command + Next) at {args.soak_rate:g}/s, {args.soak_users} users, "
        f"HubSpot latency {latency_ms:g} ms, {'REDIS_URL set (a redis-server of its own)' if redis else 'no Redis'}",
        flush=True,
    )

    def progress(point: Checkpoint) -> None:
        print(
            f"… {point.lookups:,} lookups, {point.seconds:.0f} s: worker {mib(point.worker_kb)} MiB, "
            f"master {mib(point.master_kb)} MiB",
            file=sys.stderr,
            flush=True,
        )

    soak = Soak(
        args.soak,
        rate=args.soak_rate,
        users=args.soak_users,
        records=args.records,
        latency_s=latency_ms / 1000,
        bot_env=bot_env,
        redis=redis,
        reply_timeout=args.reply_timeout,
        progress=progress,
    )
    result = soak.run()
    print()
    for line in checkpoint_header(redis):
        print(line)
    for point in result.checkpoints:
        print(checkpoint_row(point))
    print()
    for line in summary_lines(result):
        print(line)
    if args.json is not None:
        import json

        args.json.write_text(json.dumps({"soak": soak_json(result)}, indent=2))
    return 1 if report_misbehaviour(result.misbehaved) else 0
