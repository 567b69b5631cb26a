"""The benchmark's scenarios: loopback fakes and a `serve` process, simulated users (one contact each) sending
commands and Next clicks, and whether each got the right page."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.measure import Phase, burst, merge
from bench.process import BotFailedToStart, BotProcess
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.slack import FakeSlack, SlackPost, SlackSender, all_text, find_button
from tests.support.waiting import wait_until

SIGNING_SECRET = "bench-signing-secret"  # noqa: S105  (loopback fakes only)


BOT_TOKEN = "xoxb-bench-token"  # noqa: S105


HUBSPOT_TOKEN = "hs-bench-token"  # noqa: S105


PAGE_SIZE = 10  # the bot's default page size


RECORD_NAME = re.compile(r"Bench u(\d{3,}) r(\d{3})")


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


def run_scenario(plan: Planned, *, records: int, bot_env: dict[str, str]) -> Result:
    title, users, clients, latency_s, rate_limit = plan.title, plan.users, plan.clients, plan.latency_s, plan.rate_limit
    clicks, reply_timeout, one_at_a_time = plan.clicks, plan.reply_timeout, plan.one_at_a_time
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


@dataclass(frozen=True)
class Planned:
    """One row of the default run: what it is called, what stderr says before it, and how `run_scenario` runs it."""

    progress: str
    title: str
    users: int
    clients: int
    latency_s: float
    rate_limit: tuple[int, float] | None
    clicks: bool
    reply_timeout: float
    one_at_a_time: bool = False


def planned_scenarios(args: argparse.Namespace) -> list[Planned]:
    """The default run as a table: a burst per latency, then users one at a time, then the rate-limit burst."""
    plans: list[Planned] = []
    for latency_ms in args.latencies:
        title = f"C={args.concurrency}, L={latency_ms:g} ms"
        plans.append(
            Planned(
                f"… burst {title}",
                title,
                users=args.concurrency,
                clients=args.concurrency,
                latency_s=latency_ms / 1000,
                rate_limit=None,
                clicks=True,
                reply_timeout=args.reply_timeout,
            )
        )
    if args.sequential > 0:
        latency_ms = args.latencies[-1]
        title = f"1 at a time ×{args.sequential}, L={latency_ms:g} ms"
        plans.append(
            Planned(
                f"… {title}",
                title,
                users=args.sequential,
                clients=1,
                latency_s=latency_ms / 1000,
                rate_limit=None,
                clicks=True,
                reply_timeout=args.reply_timeout,
                one_at_a_time=True,
            )
        )
    if not args.skip_rate_limit:
        limit, window = args.rate_limit
        title = f"{args.rate_limit_commands} cmds vs {limit} req/{window:g} s, L={args.rate_limit_latency:g} ms"
        plans.append(
            Planned(
                f"… rate limit: {title}",
                title,
                users=args.rate_limit_commands,
                clients=args.concurrency,
                latency_s=args.rate_limit_latency / 1000,
                rate_limit=(limit, window),
                clicks=False,
                reply_timeout=max(args.reply_timeout, 2 * window + 20),
            )
        )
    return plans
