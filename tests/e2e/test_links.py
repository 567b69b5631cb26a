"""Links into HubSpot: the contact's name links to its record only when HUBSPOT_PORTAL_ID is set."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.domain.queries import ContactQuery
from bot.domain.summary import summarise
from bot.hubspot.models import parse_participation
from bot.i18n import Translator
from bot.render.summary import SUMMARY_ACTION_ID, render_summary
from tests.conftest import Bot
from tests.support.flows import click, many_records, run_command
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.slack import FakeSlack

RECORD_URL = "https://app.hubspot.com/contacts/4242/record/0-1/101"
EU_RECORD_URL = "https://app-eu1.hubspot.com/contacts/4242/record/0-1/101"


def contact_section(message: dict[str, Any]) -> str:
    return str(message["blocks"][1]["text"]["text"])


@pytest.fixture
def jane(fake_hubspot: FakeHubSpot) -> FakeHubSpot:
    fake_hubspot.add_contact(many_records(12), "jane@example.com", "101")
    return fake_hubspot


def test_page_and_summaries_link_the_contact_when_the_portal_is_set(
    make_bot: Callable[..., Bot], settings: Settings, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bot = make_bot(settings.with_overrides(hubspot_portal_id="4242"))
    page = run_command(bot, fake_slack, "jane@example.com")
    assert contact_section(page).startswith(f"*<{RECORD_URL}|Jane Doe>* · jane@example.com")

    command_summary = run_command(bot, fake_slack, "jane@example.com summary")
    assert contact_section(command_summary).startswith(f"*<{RECORD_URL}|Jane Doe>*")

    click(bot, fake_slack, page, SUMMARY_ACTION_ID)
    thread_summary = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert contact_section(thread_summary).startswith(f"*<{RECORD_URL}|Jane Doe>*")


def test_eu_accounts_link_to_their_own_host(
    make_bot: Callable[..., Bot], settings: Settings, jane: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    configured = load_settings(
        {"HUBSPOT_PORTAL_ID": "4242", "HUBSPOT_APP_BASE": "https://app-eu1.hubspot.com/"}, dotenv=False
    )
    bot = make_bot(
        settings.with_overrides(
            hubspot_portal_id=configured.hubspot_portal_id, hubspot_app_base=configured.hubspot_app_base
        )
    )
    summary = run_command(bot, fake_slack, "jane@example.com summary")
    assert f"<{EU_RECORD_URL}|Jane Doe>" in contact_section(summary)


def test_no_portal_no_link_and_no_error(bot: Bot, jane: FakeHubSpot, fake_slack: FakeSlack) -> None:
    page = run_command(bot, fake_slack, "jane@example.com")
    summary = run_command(bot, fake_slack, "jane@example.com summary")
    for message in (page, summary):
        assert message["response_type"] == "in_channel"
        assert contact_section(message).startswith("*Jane Doe* · jane@example.com")
        assert "hubspot.com" not in json.dumps(message)


def test_summary_view_links_only_with_a_url() -> None:
    summary = summarise([parse_participation(participation(1))])
    linked = render_summary(summary, ContactQuery("jane@example.com"), Translator(), cap=10, contact_url=RECORD_URL)
    plain = render_summary(summary, ContactQuery("jane@example.com"), Translator(), cap=10)
    assert f"<{RECORD_URL}|Jane Doe>" in contact_section(linked)
    assert "<" not in contact_section(plain)


@pytest.mark.parametrize("contact_id", ["abc", "", "12/../../x"])
def test_a_contact_id_that_is_not_a_number_gets_no_link(settings: Settings, contact_id: str) -> None:
    from bot.render.links import contact_url

    with_portal = settings.with_overrides(hubspot_portal_id="4242")
    assert contact_url(with_portal, contact_id) is None
    assert contact_url(with_portal, "101") == RECORD_URL
