"""`participations-bot check` against the loopback HubSpot and Slack, through the real CLI entry point."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.scopes import REQUIRED_BOT_SCOPES
from bot.tools.check import PROBE_IDENTIFIER
from tests.support.hubspot import FakeHubSpot, Scripted, missing_scopes
from tests.support.processes import run_bot
from tests.support.redis_server import RedisServer
from tests.support.slack import FakeSlack
from tests.support.tokens import BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET
from tests.support.waiting import free_port

APP_TOKEN = "xapp-1-A1-123-abcdef"


@pytest.fixture
def env(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
        "HUBSPOT_API_BASE": fake_hubspot.url,
        "SLACK_API_URL": fake_slack.api_url,
        "HUBSPOT_READ_TIMEOUT": "2",
    }


def run_check(capsys: pytest.CaptureFixture[str], environ: dict[str, str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args], environ=environ)
    out = capsys.readouterr().out
    for secret in (BOT_TOKEN, SIGNING_SECRET, HUBSPOT_TOKEN, APP_TOKEN, "wrong-token"):
        assert secret not in out, "check must never print a secret"
    return code, out.splitlines()


def line(lines: list[str], part: str) -> str:
    found = [text for text in lines if text[2:].startswith(part + ":")]
    assert len(found) == 1, (part, lines)
    return found[0]


def test_everything_fine_in_http_mode(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    code, lines = run_check(capsys, env)

    assert code == 0, lines
    assert not [text for text in lines if text.startswith("✗")]
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "HUBSPOT_ACCESS_TOKEN"):
        assert line(lines, name).startswith("✓")
    assert line(lines, "Slack auth.test") == "✓ Slack auth.test: connected as @participations in workspace Acme (T1)"
    assert line(lines, "HubSpot").startswith("✓ HubSpot: token valid and crm.objects.marketing_events.read granted")
    assert line(lines, "HubSpot name search") == (
        "✓ HubSpot name search: crm.objects.contacts.read granted: /participations <name> works"
    )
    assert line(lines, "METRICS_TOKEN").startswith("✓ METRICS_TOKEN: not set: GET /metrics is open")
    assert lines[-1] == "Ready for HTTP mode."
    # One probe, on the bot's own endpoint, with the bot's own client; then one contact search.
    assert [call.identifier for call in fake_hubspot.calls] == [PROBE_IDENTIFIER, ""]
    assert fake_hubspot.search_calls() == fake_hubspot.calls[1:]
    assert fake_hubspot.calls[0].raw_path.startswith("/marketing/v3/marketing-events/participations/contacts/")
    assert fake_hubspot.calls[0].raw_path.endswith("/breakdown")
    assert len(fake_slack.api_calls("auth.test")) == 1


def test_a_metrics_token_is_reported_set_never_shown(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    code, lines = run_check(capsys, {**env, "METRICS_TOKEN": "metrics-secret-value"})
    assert code == 0, lines
    assert line(lines, "METRICS_TOKEN").startswith("✓ METRICS_TOKEN: set")
    assert not any("metrics-secret-value" in text for text in lines)
    _, socket_lines = run_check(capsys, {**env, "SLACK_APP_TOKEN": APP_TOKEN}, "--socket")
    assert not any("METRICS_TOKEN" in text for text in socket_lines)  # no metrics port, nothing to guard


def test_wrong_hubspot_token_names_the_fix_and_fails(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    code, lines = run_check(capsys, {**env, "HUBSPOT_ACCESS_TOKEN": "wrong-token"})

    assert code == 1
    hubspot = line(lines, "HubSpot")
    assert hubspot.startswith("✗ HubSpot: HubSpot rejected HUBSPOT_ACCESS_TOKEN (401 INVALID_AUTHENTICATION")
    assert "create a new token" in hubspot
    assert "crm.objects.marketing_events.read" in hubspot
    assert "corr-401" in hubspot
    assert len(fake_hubspot.calls) == 1  # 401 is never retried
    assert "1 problem(s) for HTTP mode" in lines[-1]


def test_missing_scope_is_told_apart_from_a_bad_token(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.script(missing_scopes("crm.objects.marketing_events.read"))
    code, lines = run_check(capsys, env)

    assert code == 1
    hubspot = line(lines, "HubSpot")
    assert hubspot.startswith("✗ HubSpot: the token is valid but lacks crm.objects.marketing_events.read (403")
    assert "add that scope" in hubspot
    assert "rejected" not in hubspot


def test_empty_page_also_proves_token_and_scope(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.unknown_contacts_404 = False
    code, lines = run_check(capsys, env)
    assert code == 0
    assert "answered 200 with 0 record(s)" in line(lines, "HubSpot")


def test_rate_limited_probe_is_not_retried(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.script(
        Scripted(429, {"status": "error", "message": "slow down", "policyName": "TEN_SECONDLY_ROLLING"})
    )
    code, lines = run_check(capsys, env)
    assert code == 1
    assert "rate limited (429)" in line(lines, "HubSpot")
    assert len(fake_hubspot.calls) == 1


def test_unreachable_hubspot(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, lines = run_check(capsys, {**env, "HUBSPOT_API_BASE": f"http://127.0.0.1:{port}"})
    assert code == 1
    assert "could not reach HubSpot" in line(lines, "HubSpot")


def test_slack_rejects_the_bot_token(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_slack: FakeSlack
) -> None:
    fake_slack.fail_api("auth.test", "invalid_auth")
    code, lines = run_check(capsys, env)
    assert code == 1
    slack = line(lines, "Slack auth.test")
    assert slack.startswith("✗ Slack auth.test: Slack rejected SLACK_BOT_TOKEN (invalid_auth)")
    assert "OAuth & Permissions" in slack
    assert line(lines, "HubSpot").startswith("✓")


def test_missing_variables_are_named_never_shown(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    environ = {k: v for k, v in env.items() if k not in {"SLACK_SIGNING_SECRET", "HUBSPOT_ACCESS_TOKEN"}}
    code, lines = run_check(capsys, environ)
    assert code == 1
    assert line(lines, "SLACK_SIGNING_SECRET").startswith("✗ SLACK_SIGNING_SECRET: not set: copy the Signing Secret")
    assert line(lines, "HUBSPOT_ACCESS_TOKEN").startswith("✗ HUBSPOT_ACCESS_TOKEN: not set")
    assert line(lines, "HubSpot") == "✗ HubSpot: skipped: HUBSPOT_ACCESS_TOKEN is not set"
    assert line(lines, "SLACK_BOT_TOKEN") == "✓ SLACK_BOT_TOKEN: set"


def test_user_token_is_not_a_bot_token(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    code, lines = run_check(capsys, {**env, "SLACK_BOT_TOKEN": "xoxp-user-token"})
    assert code == 1
    assert "not a bot token (xoxb-…)" in line(lines, "SLACK_BOT_TOKEN")


def test_socket_mode_needs_an_app_token_not_a_signing_secret(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_slack: FakeSlack
) -> None:
    without_secret = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"}
    fake_slack.app_token, fake_slack.socket_url = APP_TOKEN, "ws://127.0.0.1:9/link"  # never connected to

    code, lines = run_check(capsys, {**without_secret, "SLACK_APP_TOKEN": APP_TOKEN}, "--socket")
    assert code == 0, lines
    assert line(lines, "SLACK_APP_TOKEN").startswith("✓")
    assert line(lines, "Slack Socket Mode").startswith("✓")
    assert not [text for text in lines if "SLACK_SIGNING_SECRET" in text]
    assert lines[-1] == "Ready for Socket Mode."

    code, lines = run_check(capsys, {**without_secret, "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "--socket")
    assert code == 1
    assert "not an app-level token (xapp-…)" in line(lines, "SLACK_APP_TOKEN")

    code, lines = run_check(capsys, without_secret, "--socket")
    assert code == 1
    assert line(lines, "SLACK_APP_TOKEN").startswith("✗ SLACK_APP_TOKEN: not set: create an app-level token")


def test_socket_mode_asks_slack_whether_the_app_token_works(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_slack: FakeSlack
) -> None:
    """A well-formed but revoked or foreign xapp- token is caught by check, not at the first deploy."""
    without_secret = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"}
    fake_slack.app_token, fake_slack.socket_url = "xapp-1-A1-other", "ws://127.0.0.1:9/link"
    code, lines = run_check(capsys, {**without_secret, "SLACK_APP_TOKEN": APP_TOKEN}, "--socket")
    assert code == 1
    assert line(lines, "SLACK_APP_TOKEN").startswith("✓")  # the shape is right…
    assert line(lines, "Slack Socket Mode").startswith(
        "✗ Slack Socket Mode: Slack refused SLACK_APP_TOKEN (invalid_auth)"
    )
    opened = [p for p in fake_slack.posts if p.kind == "api" and p.name == "apps.connections.open"]
    assert [p.authorization for p in opened] == [f"Bearer {APP_TOKEN}"]


def _with_scopes(fake_slack: FakeSlack, scopes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original = fake_slack.api_answer

    def answer(method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        status, payload, headers = original(method, body)
        return status, payload, {**headers, "x-oauth-scopes": scopes}

    monkeypatch.setattr(fake_slack, "api_answer", answer)


def test_slack_scopes_are_compared_with_the_code(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_scopes(fake_slack, "commands,chat:write", monkeypatch)
    code, lines = run_check(capsys, env)
    assert code == 1
    assert line(lines, "Slack scopes").startswith("✗ Slack scopes: missing chat:write.public, files:write, users:read")

    _with_scopes(fake_slack, ",".join(sorted(REQUIRED_BOT_SCOPES | {"files:read"})), monkeypatch)
    code, lines = run_check(capsys, env)
    assert code == 0
    assert line(lines, "Slack scopes").startswith("✓")


def test_bad_setting_is_one_line(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    code, lines = run_check(capsys, {**env, "LOG_FORMAT": "xml"})
    assert code == 1
    assert lines[0] == "✗ Configuration: LOG_FORMAT must be text or json, got 'xml'"


def test_real_cli_process_with_a_wrong_token_in_dotenv(env: dict[str, str], tmp_path: Path) -> None:
    """The real entry point, the token read from `.env` in the working directory: ✗ with the fix, exit 1."""
    (tmp_path / ".env").write_text("HUBSPOT_ACCESS_TOKEN=wrong-token\n", encoding="utf-8")
    environment = {k: v for k, v in env.items() if k != "HUBSPOT_ACCESS_TOKEN"}
    result = run_bot("check", cwd=tmp_path, env={"PATH": os.environ.get("PATH", ""), **environment})
    assert result.returncode == 1
    assert "✗ HubSpot: HubSpot rejected HUBSPOT_ACCESS_TOKEN (401" in result.stdout
    assert "✓ Slack auth.test" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert "wrong-token" not in result.stdout + result.stderr


def test_a_wrong_api_base_is_not_taken_for_a_working_token(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    """Any server answers 404 for a path it lacks; only HubSpot's OBJECT_NOT_FOUND proves token and scope."""
    code, lines = run_check(capsys, {**env, "HUBSPOT_API_BASE": fake_hubspot.url + "/not-hubspot"})
    assert code == 1
    assert line(lines, "HubSpot").startswith("✗ HubSpot: HubSpot answered HTTP 404")
    assert "HUBSPOT_API_BASE" in line(lines, "HubSpot")


def test_redis_line_with_the_server_version_never_the_password(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], own_redis: RedisServer
) -> None:
    code, lines = run_check(capsys, {**env, "REDIS_URL": own_redis.url})
    assert code == 0, lines
    assert re.match(r"✓ Redis: version \d+\.\d+", line(lines, "Redis"))
    assert "redis://:***@127.0.0.1" in line(lines, "Redis")
    assert own_redis.password not in "\n".join(lines)


@pytest.mark.parametrize("problem", ["wrong password", "unreachable"])
def test_redis_problems_fail_the_check_with_what_to_do(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], own_redis: RedisServer, problem: str
) -> None:
    if problem == "wrong password":
        url = own_redis.url.replace(own_redis.password, "not-the-pass-word")
    else:
        url = f"redis://:not-the-pass-word@127.0.0.1:{free_port()}/0"
    code, lines = run_check(capsys, {**env, "REDIS_URL": url})
    assert code == 1
    text = line(lines, "Redis")
    assert text.startswith("✗ Redis:") and "REDIS_URL" in text
    assert ("refused the credentials" if problem == "wrong password" else "could not reach") in text
    assert "not-the-pass-word" not in "\n".join(lines)
    assert own_redis.password not in "\n".join(lines)


def test_without_redis_url_there_is_no_redis_line(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    _, lines = run_check(capsys, env)
    assert not [text for text in lines if text[2:].startswith("Redis")]


def test_a_missing_search_scope_is_a_warning_not_a_failure(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    fake_hubspot.search_forbidden = True
    code, lines = run_check(capsys, env)

    assert code == 0, lines
    search = line(lines, "HubSpot name search")
    assert search.startswith("⚠ HubSpot name search: not available: the token lacks crm.objects.contacts.read")
    assert "Lookups by email or contact id work" in search and "corr-search-403" in search
    assert lines[-1] == "Ready for HTTP mode (an optional part is missing: see the ⚠ line)."
    assert len(fake_hubspot.search_calls()) == 1


def test_no_search_probe_when_the_token_does_not_work(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], fake_hubspot: FakeHubSpot
) -> None:
    code, lines = run_check(capsys, {**env, "HUBSPOT_ACCESS_TOKEN": "wrong-token"})
    assert code == 1
    assert not [text for text in lines if "name search" in text]
    assert fake_hubspot.search_calls() == []
