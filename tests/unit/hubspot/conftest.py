"""What the HubSpot client's tests share: virtual time, and clients on the loopback HubSpot closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import Settings
from bot.hubspot.client import HubSpotClient
from tests.conftest import VirtualTime
from tests.support.hubspot import FakeHubSpot
from tests.support.tokens import HUBSPOT_TOKEN


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def make_client(fake_hubspot: FakeHubSpot, vtime: VirtualTime) -> Iterator[Callable[..., HubSpotClient]]:
    """`make_client(**overrides)`: a client built as production builds it (`from_settings`), on virtual time (also
    HubSpot's own search window), with short timeouts and a fixed jitter; `overrides` are HubSpotClient's options."""
    clients: list[HubSpotClient] = []
    fake_hubspot.search_clock = vtime.clock  # HubSpot's window and ours run on the same (virtual) time

    def factory(**overrides: Any) -> HubSpotClient:
        settings = Settings(hubspot_access_token=HUBSPOT_TOKEN, hubspot_api_base=fake_hubspot.url + "/")
        options: dict[str, Any] = {
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
            "sleep": vtime.sleep,
            "clock": vtime.clock,
            "jitter": lambda: 0.5,
            **overrides,
        }
        client = HubSpotClient.from_settings(settings, **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
