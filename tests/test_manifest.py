"""`manifest.yml` against the app: command, request URLs, scopes, interactivity, and Slack's key format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.app import EVENTS_PATH
from bot.listeners.command import COMMAND
from bot.listeners.message_shortcut import CALLBACK_ID
from bot.scopes import REQUIRED_BOT_SCOPES

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"

LEAF = None
# Slack's app manifest format (v1), written out by hand for the parts an app like ours may use. Unknown keys
# make Slack reject the manifest, so a typo here ("is_enable", "slash_command") must fail the test.
ALLOWED: dict[str, Any] = {
    "_metadata": {"major_version": LEAF, "minor_version": LEAF, "schema_version": LEAF, "min_version": LEAF},
    "display_information": {"name": LEAF, "description": LEAF, "background_color": LEAF, "long_description": LEAF},
    "features": {
        "app_home": {"home_tab_enabled": LEAF, "messages_tab_enabled": LEAF, "messages_tab_read_only_enabled": LEAF},
        "bot_user": {"display_name": LEAF, "always_online": LEAF},
        "slash_commands": [
            {"command": LEAF, "url": LEAF, "description": LEAF, "usage_hint": LEAF, "should_escape": LEAF}
        ],
        "shortcuts": [{"name": LEAF, "type": LEAF, "callback_id": LEAF, "description": LEAF}],
        "unfurl_domains": LEAF,
        "workflow_steps": LEAF,
    },
    "oauth_config": {
        "redirect_urls": LEAF,
        "scopes": {"bot": LEAF, "user": LEAF, "bot_optional": LEAF, "user_optional": LEAF},
        "token_management_enabled": LEAF,
        "pkce_enabled": LEAF,
    },
    "settings": {
        "allowed_ip_address_ranges": LEAF,
        "event_subscriptions": {"request_url": LEAF, "bot_events": LEAF, "user_events": LEAF},
        "incoming_webhooks": {"incoming_webhooks_enabled": LEAF},
        "interactivity": {"is_enabled": LEAF, "request_url": LEAF, "message_menu_options_url": LEAF},
        "org_deploy_enabled": LEAF,
        "socket_mode_enabled": LEAF,
        "token_rotation_enabled": LEAF,
        "is_hosted": LEAF,
    },
}


def unknown_keys(node: Any, allowed: Any, path: str = "") -> list[str]:
    if allowed is LEAF:
        return []
    if isinstance(allowed, list):
        if not isinstance(node, list):
            return [f"{path} should be a list"]
        return [problem for i, item in enumerate(node) for problem in unknown_keys(item, allowed[0], f"{path}[{i}]")]
    if not isinstance(node, dict):
        return [f"{path} should be a mapping"]
    problems = [f"{path}.{key}".lstrip(".") for key in node if key not in allowed]
    for key, value in node.items():
        if key in allowed:
            problems += unknown_keys(value, allowed[key], f"{path}.{key}")
    return problems


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_only_keys_of_slacks_manifest_format(manifest: dict[str, Any]) -> None:
    assert unknown_keys(manifest, ALLOWED) == []
    assert manifest["_metadata"]["major_version"] == 1


def test_the_key_check_catches_typos() -> None:
    broken = {"settings": {"interactivity": {"is_enable": True}}, "features": {"slash_command": []}}
    assert sorted(unknown_keys(broken, ALLOWED)) == ["features.slash_command", "settings.interactivity.is_enable"]


def test_slash_command_matches_the_app(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [command["command"] for command in commands] == [COMMAND]
    command = commands[0]
    assert urlsplit(command["url"]).path == EVENTS_PATH
    assert command["url"].startswith("https://")
    assert command["should_escape"] is False  # the parser expects raw text (and still strips <mailto:…>)
    assert 1 <= len(command["description"]) <= 2000
    assert 1 <= len(command.get("usage_hint", "x")) <= 1000
    assert re.fullmatch(r"/[a-z0-9_-]{1,31}", command["command"])


def test_interactivity_is_enabled_on_the_same_url(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert urlsplit(interactivity["request_url"]).path == EVENTS_PATH
    assert interactivity["request_url"] == manifest["features"]["slash_commands"][0]["url"]
    assert manifest["settings"]["socket_mode_enabled"] is False  # HTTP mode: the default the README describes


def test_bot_scopes_are_exactly_what_the_code_needs(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes: the bot never acts as a person"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == REQUIRED_BOT_SCOPES


def test_display_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}", info["background_color"])
    assert 1 <= len(manifest["features"]["bot_user"]["display_name"]) <= 80


def test_the_message_shortcut_matches_the_app(manifest: dict[str, Any]) -> None:
    """Slack's own limits for a shortcut (name ≤ 24, description ≤ 150, callback_id ≤ 255), and our callback id."""
    (shortcut,) = manifest["features"]["shortcuts"]
    assert set(shortcut) == {"name", "type", "callback_id", "description"}  # all four are required
    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == CALLBACK_ID
    assert 1 <= len(shortcut["name"]) <= 24
    assert 1 <= len(shortcut["description"]) <= 150
