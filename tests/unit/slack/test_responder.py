"""Responder: replies reuse kept-alive connections; retries stay bounded; failures are reported, not raised."""

from __future__ import annotations

from bot.slack.responder import Responder
from tests.support.slack import FakeSlack


def test_replies_reuse_one_kept_alive_connection(fake_slack: FakeSlack) -> None:
    responder = Responder(timeout=5)
    try:
        for index in range(5):
            assert responder.post(fake_slack.response_url(f"r{index}"), {"text": f"reply {index}"})
    finally:
        responder.close()
    assert [body["text"] for body in fake_slack.responses()] == [f"reply {i}" for i in range(5)]
    assert fake_slack.server.connections == 1


def test_a_rate_limited_reply_is_retried_a_bounded_number_of_times(fake_slack: FakeSlack) -> None:
    waits: list[float] = []
    fake_slack.response_status["busy"] = 429
    responder = Responder(timeout=5, max_retries=2, sleep=waits.append)
    assert not responder.post(fake_slack.response_url("busy"), {"text": "hello"})
    assert len(fake_slack.responses("busy")) == 3
    assert waits == [1.0, 1.0]  # no Retry-After header: one second each time


def test_an_expired_response_url_is_reported_without_retrying(fake_slack: FakeSlack) -> None:
    fake_slack.response_status["gone"] = 404
    responder = Responder(timeout=5, sleep=lambda _: None)
    assert not responder.post(fake_slack.response_url("gone"), {"text": "hello"})
    assert len(fake_slack.responses("gone")) == 1


def test_an_unreachable_slack_is_retried_then_reported() -> None:
    waits: list[float] = []
    responder = Responder(timeout=1, max_retries=2, sleep=waits.append)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    assert not responder.post("http://127.0.0.1:9/response/x", {"text": "hello"})
    assert len(waits) == 2


def test_no_response_url_means_no_post() -> None:
    assert not Responder().post(None, {"text": "hello"})
