"""`/participations <name>`: HubSpot's contact search, then one page, a private choice, or a clear answer.

Real signed requests to the app over HTTP; loopback HubSpot (search route with its 5-per-second limit and a
missing-scope mode) and Slack; the choice is clicked as Slack sends it, from an ephemeral message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.sample.server import SEARCH_PATH
from tests.conftest import Bot
from tests.support.flows import ephemeral, run_command
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.scraping import parse, value
from tests.support.slack import FakeSlack, all_text, assert_valid_message, choice_buttons, find_button
from tests.support.waiting import wait_until

CHOICE_TS = "1790000005.000100"


@pytest.fixture
def people(fake_hubspot: FakeHubSpot, bot: Bot) -> None:
    fake_hubspot.search_clock = bot.time.clock  # HubSpot's search window runs on the bot's virtual time
    fake_hubspot.add_searchable("201", "maria.silva@example.com", "Maria", "Silva", "Acme & Co")
    fake_hubspot.add_searchable("202", "joao.silva@example.com", "João", "Silva", None)
    fake_hubspot.add_searchable("203", "sam@example.com", "Sam", "Carter", "Initech")
    fake_hubspot.add_searchable("204", "nobody.yet@example.com", "Nobody", "Yet", None)
    fake_hubspot.add_contact(
        [
            participation(i, contact_id="201", email="maria.silva@example.com", first="Maria", last="Silva")
            for i in range(12)
        ],
        "201",
    )
    fake_hubspot.add_contact(
        [
            participation(i, contact_id="202", email="joao.silva@example.com", first="João", last="Silva")
            for i in range(3)
        ],
        "202",
    )
    fake_hubspot.add_contact(
        [
            participation(i, contact_id="203", email="sam@example.com", first="Sam", last="Carter", state="ATTENDED")
            for i in range(15)
        ],
        "203",
    )
    fake_hubspot.add_contact([], "204")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def audit_lines(caplog: pytest.LogCaptureFixture, kind: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.audit" and r.getMessage().startswith(kind)]


def breakdown_identifiers(fake_hubspot: FakeHubSpot) -> list[str]:
    return [call.identifier for call in fake_hubspot.calls if call.raw_path != SEARCH_PATH]


def choose(bot: Bot, fake_slack: FakeSlack, choice: dict[str, Any], index: int, **kwargs: Any) -> str:
    """Click the `index`th button of an ephemeral choice, as Slack sends it (no `message` for ephemerals)."""
    button = choice_buttons(choice["blocks"])[index]
    options = {"message_ts": CHOICE_TS, "is_ephemeral": True, "action_id": "participations_choose", **kwargs}
    response, name = bot.sender.click(button["value"], message=None, **options)
    assert response.status_code == 200
    return name


def test_one_match_is_answered_exactly_as_its_email(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None
) -> None:
    message = run_command(bot, fake_slack, "attended Sam Carter limit=5")
    assert message["response_type"] == "in_channel"
    assert_valid_message(message)
    assert "Sam Carter" in message["blocks"][0]["text"]["text"]
    assert "Showing 1–5 of 15" in all_text(message)
    (search,) = fake_hubspot.search_calls()
    assert search.body["query"] == "Sam Carter"
    assert breakdown_identifiers(fake_hubspot) == ["203"]  # the contact's id, never the name
    assert fake_hubspot.calls[-1].query == {"limit": "5", "state": "ATTENDED"}
    value = json.loads(find_button(message["blocks"])["value"])  # type: ignore[index]
    assert (value["i"], value["s"], value["l"]) == ("203", "ATTENDED", 5)  # Next keeps what was typed
    assert find_button(message["blocks"], "participations_summary") is not None


def test_several_matches_offer_a_private_choice_and_choosing_posts_in_the_channel(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None, logs: pytest.LogCaptureFixture
) -> None:
    choice = run_command(bot, fake_slack, "silva limit=5")
    assert choice["response_type"] == "ephemeral"
    assert_valid_message({**choice, "blocks": [b for b in choice["blocks"] if "accessory" not in b]})
    text = all_text(choice)
    assert "2 contacts match *silva*" in text
    assert "*Maria Silva*\nmaria.silva@example.com · Acme &amp; Co" in text
    assert "*João Silva*\njoao.silva@example.com" in text
    buttons = choice_buttons(choice["blocks"])
    assert len(buttons) == 2 and all(len(b["value"]) <= 2000 for b in buttons)
    assert breakdown_identifiers(fake_hubspot) == []  # nothing is looked up before the choice

    name = choose(bot, fake_slack, choice, 0)
    page = fake_slack.wait_for(
        lambda: [r for r in fake_slack.responses(name) if r.get("response_type") == "in_channel"]
    )[0]
    assert page["replace_original"] is False
    assert "Maria Silva" in page["blocks"][0]["text"]["text"]
    assert "Showing 1–5 of 12" in all_text(page)  # the limit typed with the name
    assert breakdown_identifiers(fake_hubspot) == ["201"]
    done = fake_slack.wait_for(lambda: [r for r in fake_slack.responses(name) if r.get("replace_original") is True])[0]
    assert "Chosen: *Maria Silva*" in all_text(done)
    assert choice_buttons(done["blocks"]) == [] and "accessory" not in json.dumps(done)

    again = choose(bot, fake_slack, choice, 1)  # a second click on the same choice (the old copy on screen)
    assert "already been made" in ephemeral(fake_slack, again)["text"]
    assert breakdown_identifiers(fake_hubspot) == ["201"]
    wait_until(lambda: len(audit_lines(logs, "choose")) == 2)
    outcomes = [line.split("outcome=")[1].split()[0] for line in audit_lines(logs, "choose")]
    assert sorted(outcomes) == ["duplicate_click", "ok"]
    assert any("outcome=choice" in line for line in audit_lines(logs, "command"))
    samples = parse(bot.app.runtime.metrics.render().decode())  # counted under bounded labels, as the audit says
    assert value(samples, "participations_clicks_total", button="choose", outcome="ok") == 1
    assert value(samples, "participations_clicks_total", button="choose", outcome="duplicate") == 1
    assert value(samples, "participations_commands_total", outcome="choice") == 1
    assert value(samples, "participations_hubspot_requests_total", endpoint="search", status="200") == 1


def test_the_choice_keeps_summary_and_state(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None
) -> None:
    choice = run_command(bot, fake_slack, "silva summary attended")
    name = choose(bot, fake_slack, choice, 1)
    summary = fake_slack.wait_for(
        lambda: [r for r in fake_slack.responses(name) if r.get("response_type") == "in_channel"]
    )[0]
    assert "Attended summary · João Silva" in summary["blocks"][0]["text"]["text"]
    assert {call.query.get("state") for call in fake_hubspot.calls if call.raw_path != SEARCH_PATH} == {"ATTENDED"}


def test_many_matches_show_five_and_say_how_to_narrow(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    for index in range(9):
        fake_hubspot.add_searchable(str(300 + index), f"ana{index}@example.com", "Ana", f"Souza{index}", None)
    choice = run_command(bot, fake_slack, "Ana")
    text = all_text(choice)
    assert "9 contacts match *Ana*; here are the first 5" in text and "narrow it down" in text
    assert len(choice_buttons(choice["blocks"])) == 5
    assert fake_hubspot.search_calls()[0].body["limit"] == 5


def test_no_match_repeats_the_name_and_suggests_an_email(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None
) -> None:
    message = run_command(bot, fake_slack, "Zoë O'Neil-Smith")
    assert message["response_type"] == "ephemeral"
    assert "No HubSpot contact matches *Zoë O'Neil-Smith*" in message["text"]
    assert "/participations jane@example.com" in message["text"]
    assert breakdown_identifiers(fake_hubspot) == []


def test_a_match_without_participations_says_so(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None
) -> None:
    message = run_command(bot, fake_slack, "Nobody Yet")
    assert message["response_type"] == "ephemeral"
    assert "No participations found for Nobody Yet." in all_text(message)  # as the user knows them, not "204"


def test_missing_search_scope_is_explained_and_emails_still_work(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None
) -> None:
    fake_hubspot.search_forbidden = True
    message = run_command(bot, fake_slack, "Sam Carter")
    assert message["response_type"] == "ephemeral"
    assert "`crm.objects.contacts.read`" in message["text"] and "still work" in message["text"]
    page = run_command(bot, fake_slack, "203")
    assert page["response_type"] == "in_channel"


def test_a_burst_of_name_searches_is_paced_under_hubspots_limit(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, people: None
) -> None:
    names = [bot.sender.command("Sam Carter")[1] for _ in range(8)]
    fake_slack.wait_for(lambda: all(fake_slack.responses(n) for n in names), timeout=20)
    assert all(fake_slack.responses(n)[0]["response_type"] == "in_channel" for n in names)
    assert fake_hubspot.search_limited_count == 0
    assert len(fake_hubspot.search_calls()) == 8


def test_the_allow_list_applies_to_the_choice(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    guarded = make_bot(settings.with_overrides(allowed_user_ids=frozenset({"U1"})))
    fake_hubspot.add_searchable("201", "maria.silva@example.com", "Maria", "Silva", None)
    fake_hubspot.add_searchable("202", "joao.silva@example.com", "João", "Silva", None)
    choice = run_command(guarded, fake_slack, "silva")
    name = choose(guarded, fake_slack, choice, 0, user="U2")
    assert "not allowed" in ephemeral(fake_slack, name)["text"]
    assert breakdown_identifiers(fake_hubspot) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U024BE7LH|bob>", "That's a Slack user"),
        ("🎉 🎉", "nor a name"),
        ("Sam " + "x" * 10_240, "That command is too long"),
        ("limit=5 attended", "Which contact?"),
    ],
)
def test_odd_text_gets_the_usual_answer_and_searches_nothing(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, text: str, expected: str
) -> None:
    message = run_command(bot, fake_slack, text)
    assert message["response_type"] == "ephemeral"
    assert expected in all_text(message)
    assert fake_hubspot.calls == []


def test_a_forged_choice_value_is_refused(bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack) -> None:
    response, name = bot.sender.click(
        '{"i":"Sam Carter","l":10}', message=None, is_ephemeral=True, action_id="participations_choose"
    )
    assert response.status_code == 200
    assert "no longer valid" in ephemeral(fake_slack, name)["text"]
    assert fake_hubspot.calls == []
