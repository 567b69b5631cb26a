"""Several buttons of one message clicked together: each used button goes, every note stays, the page is untouched."""

from __future__ import annotations

import threading

from bot.render.blocks import NEXT_ACTION_ID
from bot.render.summary import EXPORT_ACTION_ID, SUMMARY_ACTION_ID
from tests.conftest import Bot
from tests.support.flows import button_ids, replacements
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
