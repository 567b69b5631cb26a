"""Fixtures: loopback fakes, an app built from injected settings, served by a real HTTP server."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from bot.app import BotApp, build_app, build_wsgi
from bot.config import Settings
from bot.hubspot.client import HubSpotClient
from bot.metrics import Metrics
from bot.runtime import build_runtime
from bot.slack.web import make_web_client
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.redis_server import RedisServer
from tests.support.slack import FakeSlack, SlackSender
from tests.support.tokens import BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET


class VirtualTime:
    """An injectable clock whose `sleep` only moves time forward: retries and waits cost nothing."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops bursts of connections


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class Bot:
    app: BotApp
    url: str
    sender: SlackSender
    time: VirtualTime
    _server: Any = field(repr=False, default=None)

    def stop(self) -> None:
        # Let lookups still in flight finish against the fakes before those go away.
        self.app.close()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Tests that run `configure_logging` (directly or through the CLI) point the root logger at that test's
    captured stderr; put everything back, so later tests' threads never write to a closed stream."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("urllib3").level, sys.excepthook, threading.excepthook)
    yield
    root.handlers[:], level, urllib3_level, sys.excepthook, threading.excepthook = saved
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(urllib3_level)


@pytest.fixture
def fake_hubspot() -> Iterator[FakeHubSpot]:
    server = FakeHubSpot(token=HUBSPOT_TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    server = FakeSlack()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        hubspot_access_token=HUBSPOT_TOKEN,
        hubspot_api_base=fake_hubspot.url,
        slack_api_url=fake_slack.api_url,
        hubspot_read_timeout=2.0,
        hubspot_connect_timeout=1.0,
        listener_workers=8,  # a small pool per test app: 64 prestarted threads each would slow the suite
    )


@pytest.fixture
def make_bot(fake_slack: FakeSlack) -> Iterator[Callable[..., Bot]]:
    """Build the app from settings, serve it on 127.0.0.1, and hand back a signed-request sender."""
    bots: list[Bot] = []

    def factory(settings: Settings, *, virtual_time: VirtualTime | None = None, **client_overrides: Any) -> Bot:
        time = virtual_time or VirtualTime()
        web_client = make_web_client(settings)
        # One Metrics for the client and the app, as in production (a test may pass its own).
        client_overrides.setdefault("metrics", Metrics())
        hubspot = HubSpotClient.from_settings(settings, sleep=time.sleep, clock=time.clock, **client_overrides)
        runtime = build_runtime(settings, web_client=web_client, hubspot=hubspot)
        app = build_app(settings, runtime=runtime, web_client=web_client)
        server = make_server(
            "127.0.0.1", 0, build_wsgi(app), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        sender = SlackSender(url + "/slack/events", settings.slack_signing_secret, fake_slack)
        bot = Bot(app=app, url=url, sender=sender, time=time, _server=server)
        bots.append(bot)
        return bot

    yield factory
    for bot in bots:
        bot.stop()


@pytest.fixture
def bot(make_bot: Callable[..., Bot], settings: Settings) -> Bot:
    return make_bot(settings)


@pytest.fixture
def capped_bot(make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot) -> Bot:
    """A bot that reads at most 150 records of a contact, and jane@example.com with 320 of them."""
    fake_hubspot.add_contact([participation(i) for i in range(320)], "jane@example.com")
    return make_bot(settings.with_overrides(max_export_records=150))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the whole run (tests that stop or freeze Redis start their own)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared server, emptied for this test."""
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, to stop, restart or freeze."""
    server = RedisServer(tmp_path, password="s3cret-redis-pass").start()
    yield server
    server.stop()
