"""What the buttons of one message share: clicked together, each used button goes, every note stays, the page is
untouched; Summary and Export CSV both refuse who the allow-lists leave out and answer a second click with a note.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.render.blocks import NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from tests.conftest import Bot
from tests.support.flows import button_ids, click, ephemeral, many_records, replacements, run_command
from tests.support.hubspot import FakeHubSpot, participation
from tests.support.slack import FakeSlack, all_text, find_button


def test_buttons_clicked_together_each_keep_the_others_edit(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_hubspot.add_contact([participation(i) for i in range(23)], "jane@example.com")
    _, name = bot.sender.command("jane@example.com")
    page = fake_slack.wait_for(lambda: fake_slack.responses(name))[0]
    assert button_ids(page) == [NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID]

    # Three clicks on the same copy of the message, at once: each payload still shows all three buttons.
    names: list[str] = []
    lock = threading.Lock()

    def click(action_id: str) -> None:
        button = find_button(page["blocks"], action_id)
        assert button is not None
        _, response_name = bot.sender.click(button["value"], message=page, action_id=action_id)
        with lock:
            names.append(response_name)

    threads = [threading.Thread(target=click, args=(a,)) for a in (NEXT_ACTION_ID, SUMMARY_ACTION_ID, EXPORT_ACTION_ID)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    fake_slack.wait_for(lambda: len(replacements(fake_slack, names)) == 3)
    final = replacements(fake_slack, names)[-1]  # the message as Slack shows it now
    assert button_ids(final) == []
    text = all_text(final)
    for note in ("Page 2 is in the thread", "The summary is in the thread", "The CSV export is in the thread"):
        assert text.count(note) == 1, note
    assert "Webinar 0" in text  # the page itself is untouched
    block_ids = [b["block_id"] for b in final["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


# Each contact button: (its action_id, the Slack call that shows its work is done, the call made once per delivery).
CONTACT_BUTTONS = [
    pytest.param(SUMMARY_ACTION_ID, "chat.postMessage", "chat.postMessage", id="summary"),
    pytest.param(EXPORT_ACTION_ID, "files.completeUploadExternal", "files.getUploadURLExternal", id="export"),
]


@pytest.mark.parametrize(
    ("action_id", "overrides", "who", "delivery"),
    [
        pytest.param(SUMMARY_ACTION_ID, {"allowed_user_ids": frozenset({"U1"})}, {"user": "U2"}, "chat.postMessage"),
        pytest.param(
            EXPORT_ACTION_ID,
            {"allowed_channel_ids": frozenset({"C1"})},
            {"channel": "C2"},
            "files.getUploadURLExternal",
        ),
    ],
    ids=["summary-user", "export-channel"],
)
def test_a_contact_button_refuses_who_the_allow_list_leaves_out(
    make_bot: Callable[..., Bot],
    settings: Settings,
    fake_hubspot: FakeHubSpot,
    fake_slack: FakeSlack,
    action_id: str,
    overrides: dict[str, Any],
    who: dict[str, str],
    delivery: str,
) -> None:
    bot = make_bot(settings.with_overrides(**overrides))
    fake_hubspot.add_contact(many_records(23), "jane@example.com", "101")
    message = run_command(bot, fake_slack, "jane@example.com")
    calls = len(fake_hubspot.calls)
    name, _ = click(bot, fake_slack, message, action_id, **who)
    assert "not allowed" in ephemeral(fake_slack, name)["text"]
    assert len(fake_hubspot.calls) == calls
    assert not fake_slack.api_calls(delivery)


@pytest.mark.parametrize(("action_id", "done", "delivery"), CONTACT_BUTTONS)
def test_a_second_click_on_a_contact_button_delivers_nothing_more(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, action_id: str, done: str, delivery: str
) -> None:
    fake_hubspot.add_contact(many_records(23), "jane@example.com", "101")
    message = run_command(bot, fake_slack, "jane@example.com")
    click(bot, fake_slack, message, action_id)
    fake_slack.wait_for(lambda: fake_slack.api_calls(done))
    second, _ = click(bot, fake_slack, message, action_id)
    assert "already in the thread" in ephemeral(fake_slack, second)["text"]
    assert len(fake_slack.api_calls(delivery)) == 1
