"""Metrics of a real `serve` with three gunicorn workers sharing Redis (WEB_CONCURRENCY + REDIS_URL): every scrape,
whichever worker answers it, shows one count for the whole server, and `participations_redis_up` follows Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.hubspot import FakeHubSpot, participation
from tests.support.processes import serving
from tests.support.redis_server import RedisServer
from tests.support.scraping import Samples, scrape, scrape_until, value
from tests.support.slack import FakeSlack, SlackSender
from tests.support.tokens import SIGNING_SECRET
from tests.support.waiting import wait_until

EMAIL = "jane@example.com"
COMMANDS_OK = "participations_commands_total"
REDIS_UP = "participations_redis_up"


def send_until(
    sender: SlackSender, fake_slack: FakeSlack, url: str, done: Callable[[Samples], bool], budget: float = 20.0
) -> Samples:
    """Commands on fresh connections (any worker may take each) until a scrape satisfies `done`; each is answered."""
    deadline = time.monotonic() + budget
    while True:
        sender.session = requests.Session()
        _response, name = sender.command(EMAIL)
        answer = fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=10)[0]
        assert answer["response_type"] == "in_channel"  # the page, Redis or not
        samples = scrape(url, token=None)
        if done(samples):
            return samples
        assert time.monotonic() < deadline, f"not reached in {budget} s: {samples.get((REDIS_UP, frozenset()))}"
        time.sleep(0.1)


def test_three_workers_with_redis_count_once_and_redis_up_follows_redis(
    own_redis: RedisServer, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(3)], EMAIL)
    env = {"REDIS_URL": own_redis.url, "WEB_CONCURRENCY": "3", "REDIS_RETRY_SECONDS": "0.5"}
    with serving(fake_hubspot, fake_slack, tmp_path, **env) as served:
        children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
        wait_until(lambda: len(children.read_text().split()) == 3)
        sender = SlackSender(served.url + "/slack/events", SIGNING_SECRET, fake_slack)
        names = []
        for _ in range(6):
            sender.session = requests.Session()
            names.append(sender.command(EMAIL)[1])
        for name in names:
            fake_slack.wait_for(lambda name=name: fake_slack.responses(name), timeout=15)
        scrape_until(served.url, lambda s: value(s, COMMANDS_OK, outcome="ok") == 6)
        for _ in range(12):  # fresh connections: the scrapes land on different workers
            samples = scrape(served.url, token=None)
            assert value(samples, COMMANDS_OK, outcome="ok") == 6
            assert value(samples, REDIS_UP) == 1

        own_redis.stop()  # lookups go on; a worker that meets the outage falls back, and the gauge says so
        send_until(sender, fake_slack, served.url, lambda s: value(s, REDIS_UP) == 0)

        own_redis.start()  # same port, empty: every worker that fell back probes again and returns by itself
        send_until(sender, fake_slack, served.url, lambda s: value(s, REDIS_UP) == 1)
        output = served.stop()
    assert output.count("Redis did not answer") >= 1
    assert "s3cret-redis-pass" not in output  # the password in REDIS_URL never reaches a log line
