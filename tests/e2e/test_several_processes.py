"""Two real `participations-bot serve` processes sharing one real Redis: exact across processes, and nothing lost
when Redis stops, restarts or freezes."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.render.blocks import NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from tests.support.flows import button_ids, replacements
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.processes import Served, serving
from tests.support.redis_server import RedisServer
from tests.support.slack import FakeSlack, SlackSender, all_text, command_fields, find_button
from tests.support.socket_mode import APP_TOKEN, FakeSocketMode, block_actions, bot_env, start_bot
from tests.support.tokens import SIGNING_SECRET

EMAIL = "jane@example.com"
SMALL = {"LISTENER_WORKERS": "8", "HTTP_THREADS": "8"}  # keep two processes light on a shared CI machine


@dataclass
class Bot:
    """A `serve` process and a sender of signed requests to it."""

    served: Served
    sender: SlackSender

    @property
    def url(self) -> str:
        return self.served.url

    def stop(self) -> str:
        """SIGTERM, wait, and everything the process logged."""
        return self.served.stop()


@pytest.fixture
def start_bots(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Callable[..., list[Bot]]]:
    with ExitStack() as stack:

        def start(count: int = 2, **env: str) -> list[Bot]:
            bots = []
            for _ in range(count):
                served = stack.enter_context(serving(fake_hubspot, fake_slack, tmp_path, **SMALL, **env))
                bots.append(Bot(served, SlackSender(served.url + "/slack/events", SIGNING_SECRET, fake_slack)))
            return bots

        yield start


def first_page(bot: Bot, fake_slack: FakeSlack, text: str = EMAIL) -> dict[str, Any]:
    response, name = bot.sender.command(text)
    assert response.status_code == 200
    return fake_slack.wait_for(lambda: fake_slack.responses(name), timeout=15)[0]  # type: ignore[no-any-return]


def click_together(clicks: list[tuple[Bot, dict[str, Any], str, str]]) -> list[str]:
    """Each (bot, message, action_id, message_ts) clicked at the same moment; the response names, in order."""
    names = [""] * len(clicks)
    start = threading.Barrier(len(clicks))

    def click(index: int) -> None:
        bot, message, action_id, message_ts = clicks[index]
        button = find_button(message["blocks"], action_id)
        assert button is not None
        start.wait(5)
        response, names[index] = bot.sender.click(
            button["value"], message=message, action_id=action_id, message_ts=message_ts
        )
        assert response.status_code == 200

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(clicks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    return names


def test_clicks_are_exact_across_two_processes(
    start_bots: Callable[..., list[Bot]], redis_url: str, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(23)], EMAIL)
    # `one` runs two gunicorn workers (WEB_CONCURRENCY): they share state like any two processes.
    (one,) = start_bots(1, REDIS_URL=redis_url, WEB_CONCURRENCY="2")
    (two,) = start_bots(1, REDIS_URL=redis_url)
    page = first_page(one, fake_slack)
    assert button_ids(page) == [NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID]

    # One Next button clicked twice at once, the clicks landing on the two processes: page 2 is posted once.
    ts = "1790000001.000100"
    names = click_together([(one, page, NEXT_ACTION_ID, ts), (two, page, NEXT_ACTION_ID, ts)])
    fake_slack.wait_for(lambda: all(fake_slack.responses(name) for name in names), timeout=15)
    time.sleep(0.3)  # a second post, if any, would be on its way
    assert len(fake_slack.api_calls("chat.postMessage")) == 1
    answers = [all_text(fake_slack.responses(name)[0]) for name in names]
    assert sum("That page is already in the thread." in text for text in answers) == 1

    # A stale copy of the button, clicked later on either process, posts nothing more.
    for bot in (two, one):
        stale = click_together([(bot, page, NEXT_ACTION_ID, ts)])[0]
        answer = fake_slack.wait_for(lambda stale=stale: fake_slack.responses(stale))[0]  # type: ignore[misc]
        assert "already in the thread" in all_text(answer)
    assert len(fake_slack.api_calls("chat.postMessage")) == 1

    # Summary on one process and Export on the other, at the same moment, on the same copy of a fresh page.
    other_ts = "1790000009.000100"
    names = click_together([(one, page, SUMMARY_ACTION_ID, other_ts), (two, page, EXPORT_ACTION_ID, other_ts)])

    fake_slack.wait_for(lambda: len(replacements(fake_slack, names)) == 2, timeout=20)
    final = replacements(fake_slack, names)[-1]  # the message as Slack shows it now
    assert button_ids(final) == [NEXT_ACTION_ID]
    text = all_text(final)
    assert "The summary is in the thread" in text and "The CSV export is in the thread" in text

    log = one.stop()
    assert log.count("Booting worker") == 2, log
    assert "several workers need REDIS_URL" not in log


def test_a_burst_split_over_two_processes_stays_under_hubspots_limit(
    start_bots: Callable[..., list[Bot]], redis_url: str, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    """HubSpot enforces 100 per rolling window for the token, whichever process sends (a 1 s window to keep the
    test short; it advertises it in X-HubSpot-RateLimit-Interval-Milliseconds, as HubSpot does with 10 000)."""
    fake_hubspot.add_contact([participation(i) for i in range(3)], EMAIL)
    fake_hubspot.rate_limit = (100, 1.0)
    bots = start_bots(REDIS_URL=redis_url)
    commands = 360
    names: list[str] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        bot = bots[worker % 2]
        for _ in range(commands // 6):
            response, name = bot.sender.command(EMAIL)
            assert response.status_code == 200
            with lock:
                names.append(name)

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    fake_slack.wait_for(lambda: len(fake_slack.responses()) >= commands, timeout=60)
    elapsed = time.monotonic() - started
    pages = [r for r in fake_slack.responses() if r.get("response_type") == "in_channel"]
    assert len(pages) == commands, [all_text(r) for r in fake_slack.responses() if r not in pages][:3]
    print(f"{commands} lookups over two processes in {elapsed:.1f} s; HubSpot 429s: {fake_hubspot.rate_limited_count}")
    assert fake_hubspot.rate_limited_count <= 5
    assert elapsed >= 2.0  # 360 requests at under 100 per second: paced, not sent at once


def wait_for_page(bot: Bot, fake_slack: FakeSlack, timeout: float = 10.0) -> float:
    """Send a command; seconds until its page arrived (the ack itself must be immediate)."""
    started = time.monotonic()
    response, name = bot.sender.command(EMAIL)
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0, "the ack waited"
    answer = fake_slack.wait_for(lambda: fake_slack.responses(name), timeout=timeout)[0]
    assert answer.get("response_type") == "in_channel", all_text(answer)
    return time.monotonic() - started


def test_redis_stopped_restarted_and_frozen_mid_run(
    start_bots: Callable[..., list[Bot]], own_redis: RedisServer, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(23)], EMAIL)
    bots = start_bots(REDIS_URL=own_redis.url, REDIS_RETRY_SECONDS="0.5")
    for bot in bots:
        wait_for_page(bot, fake_slack)
        assert requests.get(bot.url + "/readyz", timeout=5).status_code == 200
    assert own_redis.client().keys("participations-bot:*")

    own_redis.stop()
    for _ in range(3):
        for bot in bots:
            wait_for_page(bot, fake_slack)  # answers keep coming
    not_ready = requests.get(bots[0].url + "/readyz", timeout=5)
    assert not_ready.status_code == 503 and "Redis" in not_ready.text
    assert own_redis.password is not None and own_redis.password not in not_ready.text
    scraped = requests.get(bots[0].url + "/metrics", timeout=5).text
    assert re.search(r"^participations_redis_up 0(\.0)?$", scraped, re.MULTILINE), scraped

    own_redis.start()  # same port, empty: each process finds it again by itself
    time.sleep(0.6)
    deadline = time.monotonic() + 10
    while len(own_redis.client().keys("participations-bot:rate:*")) == 0 and time.monotonic() < deadline:
        for bot in bots:
            wait_for_page(bot, fake_slack)
    assert own_redis.client().keys("participations-bot:rate:*"), "never went back to Redis"
    assert requests.get(bots[1].url + "/readyz", timeout=5).status_code == 200
    scraped = requests.get(bots[1].url + "/metrics", timeout=5).text
    assert re.search(r"^participations_redis_up 1(\.0)?$", scraped, re.MULTILINE), scraped

    own_redis.freeze()
    try:
        for bot in bots:
            page = first_page(bot, fake_slack)
            assert wait_for_page(bot, fake_slack) < 1.5  # a lookup pays the Redis timeout at most once
            name = click_together([(bot, page, NEXT_ACTION_ID, f"17900001{len(bot.url)}.000100")])[0]
            fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=5)  # type: ignore[misc]
        frozen = requests.get(bots[0].url + "/readyz", timeout=5)
        assert frozen.status_code == 503
    finally:
        own_redis.thaw()

    for bot in bots:
        log = bot.stop()
        assert log.count("Redis did not answer") == 2, log  # one warning per outage, not one per request
        assert "Redis answers again" in log
        assert own_redis.password not in log


def test_without_redis_serve_runs_one_worker_whatever_web_concurrency_says(
    start_bots: Callable[..., list[Bot]], fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(3)], EMAIL)
    (alone,) = start_bots(1, WEB_CONCURRENCY="3")
    wait_for_page(alone, fake_slack)
    log = alone.stop()
    assert log.count("Booting worker") == 1, log
    assert log.count("several workers need REDIS_URL") == 1


def test_two_socket_mode_processes_share_clicks(
    redis_url: str, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Slack spreads one app's payloads over its Socket Mode connections: a double click can reach two processes."""
    fake_hubspot.add_contact([participation(i) for i in range(12)], EMAIL)
    socket_mode = FakeSocketMode().start()
    fake_slack.app_token = APP_TOKEN
    fake_slack.socket_url = socket_mode.url
    env = bot_env(fake_hubspot, fake_slack, REDIS_URL=redis_url, **SMALL)
    processes = [start_bot(env, tmp_path / f"socket-{i}.log", tmp_path) for i in range(2)]
    try:
        socket_mode.wait_for(lambda: len(socket_mode.clients) == 2, 20, "two Socket Mode connections")
        socket_mode.push_slash_command(command_fields(EMAIL, fake_slack.response_url("first")))
        page = fake_slack.wait_for(lambda: fake_slack.responses("first"), timeout=10)[0]
        button = find_button(page["blocks"])
        assert button is not None
        clicks = [
            socket_mode.push_interactive(block_actions(button, page, fake_slack.response_url(f"click{i}")), i)
            for i in range(2)
        ]
        for click in clicks:
            assert socket_mode.wait_for_ack(click, timeout=3).seconds < 1.0
        fake_slack.wait_for(lambda: fake_slack.responses("click0") and fake_slack.responses("click1"), timeout=10)
        time.sleep(0.3)  # a second post, if any, would be on its way
        assert len(fake_slack.api_calls("chat.postMessage")) == 1
    finally:
        for process in processes:  # a graceful stop is test_socket_mode's subject, not this one's
            process.kill()
            process.wait(timeout=10)
        socket_mode.stop()
