"""Settings: read once, defaults, and one clear line for anything wrong."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.hubspot.client import HubSpotClient

BASE_ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "HUBSPOT_ACCESS_TOKEN": "pat-1"}


@pytest.mark.parametrize(
    ("base", "version", "expected"),
    [
        ("https://api.hubapi.com", "", "https://api.hubapi.com/marketing/v3/marketing-events/participations/contacts/"),
        (
            "https://api.hubapi.com/",
            "v3",
            "https://api.hubapi.com/marketing/v3/marketing-events/participations/contacts/",
        ),
        (
            "http://proxy.local/hubspot/",
            "",
            "http://proxy.local/hubspot/marketing/v3/marketing-events/participations/contacts/",
        ),
        (
            "https://api.hubapi.com",
            "2026-09",
            "https://api.hubapi.com/marketing/marketing-events/2026-09/participations/contacts/",
        ),
    ],
)
def test_breakdown_url_is_joined_right(base: str, version: str, expected: str) -> None:
    settings = load_settings({**BASE_ENV, "HUBSPOT_API_BASE": base, "HUBSPOT_API_VERSION": version})
    assert settings.hubspot_breakdown_url_prefix == expected
    client = HubSpotClient.from_settings(settings)
    assert client.breakdown_url("a+b@x.com") == expected + "a%2Bb%40x.com/breakdown"
    assert (
        client.breakdown_url("../../crm/v3/objects/contacts")
        == expected + "..%2F..%2Fcrm%2Fv3%2Fobjects%2Fcontacts/breakdown"
    )


def test_defaults_and_lists() -> None:
    settings = load_settings({**BASE_ENV, "ALLOWED_USER_IDS": " U1, U2 ,,", "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert settings.port == 3000
    assert settings.hubspot_api_version == "v3"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.allowed_user_ids == frozenset({"U1", "U2"})
    assert settings.allowed_channel_ids == frozenset()
    assert (settings.metrics_token, settings.metrics_port) == ("", 0)  # /metrics open on serve; none in Socket Mode
    settings.require("http")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number"),
        ({"HUBSPOT_API_VERSION": "v9"}, "HUBSPOT_API_VERSION"),
        ({"HUBSPOT_API_VERSION": "2026-13"}, "HUBSPOT_API_VERSION"),
        ({"HUBSPOT_API_BASE": "api.hubapi.com"}, "HUBSPOT_API_BASE"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"HUBSPOT_PORTAL_ID": "acme"}, "HUBSPOT_PORTAL_ID"),
        ({"BOT_DEFAULT_LANGUAGE": "fr"}, "BOT_DEFAULT_LANGUAGE"),
        ({"HUBSPOT_READ_TIMEOUT": "-1"}, "HUBSPOT_READ_TIMEOUT"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must start with redis://"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        ({"REDIS_TIMEOUT": "soon"}, "REDIS_TIMEOUT"),
        ({"HUBSPOT_REQUESTS_PER_10S": "0"}, "HUBSPOT_REQUESTS_PER_10S"),
        ({"METRICS_PORT": "99999"}, "METRICS_PORT"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({**BASE_ENV, **env})


def test_shared_state_settings() -> None:
    alone = load_settings(BASE_ENV)
    assert (alone.redis_url, alone.web_concurrency, alone.hubspot_requests_per_10s) == ("", 1, None)
    shared = load_settings(
        {
            **BASE_ENV,
            "REDIS_URL": "rediss://:p4ss@redis.example.com:6380/0",
            "WEB_CONCURRENCY": "4",
            "HUBSPOT_REQUESTS_PER_10S": "130",
        }
    )
    assert shared.redis_url == "rediss://:p4ss@redis.example.com:6380/0"
    assert (shared.web_concurrency, shared.hubspot_requests_per_10s) == (4, 130)


def test_a_malformed_redis_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**BASE_ENV, "REDIS_URL": "http://:hunter2@redis.example.com"})
    assert "hunter2" not in str(refused.value)


def test_missing_variables_are_named_per_mode() -> None:
    empty = Settings()
    assert empty.missing_for("http") == ["SLACK_BOT_TOKEN", "HUBSPOT_ACCESS_TOKEN", "SLACK_SIGNING_SECRET"]
    assert empty.missing_for("socket") == ["SLACK_BOT_TOKEN", "HUBSPOT_ACCESS_TOKEN", "SLACK_APP_TOKEN"]
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        Settings(slack_bot_token="x", hubspot_access_token="y").require("http")
    with pytest.raises(ConfigError, match="xapp-"):
        Settings(slack_bot_token="x", hubspot_access_token="y", slack_app_token="xoxb-z").require("socket")


def test_dotenv_fills_gaps_but_the_environment_wins(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("HUBSPOT_ACCESS_TOKEN=from-dotenv\nPORT=4000\n")
    monkeypatch.chdir(tmp_path)
    for name in ("HUBSPOT_ACCESS_TOKEN", "PORT"):
        monkeypatch.setenv(name, "placeholder")  # so monkeypatch restores the original afterwards
        monkeypatch.delenv(name)
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings()
    assert settings.hubspot_access_token == "from-dotenv"
    assert settings.port == 5000


def test_request_limits_have_safe_defaults_and_refuse_nonsense() -> None:
    defaults = load_settings(BASE_ENV)
    assert (defaults.max_request_bytes, defaults.request_deadline_seconds) == (256 * 1024, 10.0)
    tuned = load_settings({**BASE_ENV, "MAX_REQUEST_BYTES": "65536", "REQUEST_DEADLINE_SECONDS": "2.5"})
    assert (tuned.max_request_bytes, tuned.request_deadline_seconds) == (65536, 2.5)
    with pytest.raises(ConfigError, match="MAX_REQUEST_BYTES"):
        load_settings({**BASE_ENV, "MAX_REQUEST_BYTES": "10GB"})
    with pytest.raises(ConfigError, match="REQUEST_DEADLINE_SECONDS"):
        load_settings({**BASE_ENV, "REQUEST_DEADLINE_SECONDS": "0"})
