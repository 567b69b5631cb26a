"""`participations-bot serve`, the Procfile's command, as a real process under gunicorn."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hubspot import FakeHubSpot, participation
from tests.support.processes import clean_env, run_bot, serving
from tests.support.slack import FakeSlack, SlackSender, all_text
from tests.support.tokens import BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET
from tests.support.waiting import free_port


@pytest.fixture
def served(served_process: tuple[str, subprocess.Popen[str]]) -> str:
    return served_process[0]


@pytest.fixture
def served_process(
    fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with serving(fake_hubspot, fake_slack, tmp_path) as served:
        yield served.url, served.process


def test_serve_answers_a_signed_command_and_posts_the_page(
    served: str, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(12)], "jane@example.com")
    sender = SlackSender(served + "/slack/events", SIGNING_SECRET, fake_slack)
    response, name = sender.command("jane@example.com attended")
    assert response.status_code == 200
    message = fake_slack.wait_for(lambda: fake_slack.responses(name), timeout=15)[0]
    assert message["response_type"] == "in_channel"
    assert "Showing 1–10 of 12" in all_text(message)
    assert fake_hubspot.calls[0].query["state"] == "ATTENDED"

    forged, _ = sender.command("jane@example.com", secret="wrong")
    assert forged.status_code == 401


def test_a_restart_finishes_the_answers_already_acknowledged(
    served_process: tuple[str, subprocess.Popen[str]], fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    """Deploys send SIGTERM: a command acked just before must still get its page, not silence."""
    url, process = served_process
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    fake_hubspot.latency = 1.5
    sender = SlackSender(url + "/slack/events", SIGNING_SECRET, fake_slack)
    response, name = sender.command("jane@example.com")
    assert response.status_code == 200
    fake_hubspot.wait_for(lambda: fake_hubspot.calls, timeout=5)  # the lookup is under way
    process.terminate()
    message = fake_slack.wait_for(lambda: fake_slack.responses(name), timeout=15)[0]
    assert message["response_type"] == "in_channel"
    assert process.wait(timeout=20) == 0


def test_a_missing_variable_fails_with_one_line_naming_it(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN)
    result = run_bot("serve", "--port", str(free_port()), cwd=tmp_path, env=env, timeout=30)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_socket_mode_needs_an_app_token(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN, SLACK_APP_TOKEN="xoxb-wrong-kind")
    result = run_bot("socket", cwd=tmp_path, env=env, timeout=30)
    assert result.returncode == 2
    assert "xapp-" in result.stderr and "Traceback" not in result.stderr


def test_an_impossible_port_is_refused_in_one_line(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN, SLACK_SIGNING_SECRET="s")
    result = run_bot("serve", "--port", "99999", cwd=tmp_path, env=env, timeout=30)
    assert result.returncode == 2
    assert "--port" in result.stderr and "65535" in result.stderr
    assert "Traceback" not in result.stderr
