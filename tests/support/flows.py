"""Shared steps for end-to-end tests: run the slash command, click a button, wait for what Slack receives."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Bot
from tests.support.hubspot import participation
from tests.support.slack import FakeSlack, find_button

FIRST_TS = "1790000001.000100"


def many_records(count: int, **overrides: Any) -> list[dict[str, Any]]:
    return [participation(i, **overrides) for i in range(count)]


def run_command(bot: Bot, fake_slack: FakeSlack, text: str, **kwargs: Any) -> dict[str, Any]:
    """The message the command posted through its response_url (waits for it)."""
    response, name = bot.sender.command(text, **kwargs)
    assert response.status_code == 200
    return fake_slack.wait_for(lambda: fake_slack.responses(name))[0]


def click(
    bot: Bot, fake_slack: FakeSlack, message: dict[str, Any], action_id: str, **kwargs: Any
) -> tuple[str, dict[str, Any]]:
    """Click the button `action_id` of `message`; returns (response name, button)."""
    button = find_button(message["blocks"], action_id)
    assert button is not None, f"no {action_id} button"
    response, name = bot.sender.click(button["value"], message=message, action_id=action_id, **kwargs)
    assert response.status_code == 200
    return name, button


def replaced(fake_slack: FakeSlack, name: str) -> dict[str, Any]:
    """The `replace_original` update the bot sent through a click's response_url (waits for it)."""
    return fake_slack.wait_for(lambda: [r for r in fake_slack.responses(name) if r.get("replace_original") is True])[0]


def replacements(fake_slack: FakeSlack, names: list[str]) -> list[dict[str, Any]]:
    """Every `replace_original` update sent through the response URLs `names`, in the order Slack received them."""
    with fake_slack.lock:
        return [
            p.body
            for p in fake_slack.posts
            if p.kind == "response_url" and p.name in names and p.body.get("replace_original") is True
        ]


def ephemeral(fake_slack: FakeSlack, name: str) -> dict[str, Any]:
    return fake_slack.wait_for(
        lambda: [r for r in fake_slack.responses(name) if r.get("response_type") == "ephemeral"]
    )[0]


def button_ids(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of a CSV file the bot made, read back as a spreadsheet would."""
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the file as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
