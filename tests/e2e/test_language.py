"""Each Slack user sees the bot in their own language (English or Brazilian Portuguese)."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.slack.locale import LocaleResolver
from bot.slack.web import make_web_client
from tests.conftest import Bot, VirtualTime
from tests.support.hubspot import FakeHubSpot, Scripted, participation
from tests.support.slack import FakeSlack, all_text, find_button


def answer(bot: Bot, fake_slack: FakeSlack, text: str, user: str) -> dict:  # type: ignore[type-arg]
    _, name = bot.sender.command(text, user=user)
    return fake_slack.wait_for(lambda: fake_slack.responses(name))[0]  # type: ignore[no-any-return]


def test_portuguese_and_english_users_in_the_same_channel(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_slack.locales.update({"UPT": "pt-BR", "UEN": "en-US"})
    fake_hubspot.add_contact([participation(i) for i in range(12)], "jane@example.com")

    assert "Como usar /participations" in all_text(answer(bot, fake_slack, "help", "UPT"))
    assert "How to use /participations" in all_text(answer(bot, fake_slack, "help", "UEN"))

    page = answer(bot, fake_slack, "jane@example.com", "UPT")
    assert "Mostrando 1–10 de 12" in all_text(page)
    button = find_button(page["blocks"])
    assert button is not None and button["text"]["text"] == "Próxima página"

    assert "Não conheço o estado `talvez`" in all_text(answer(bot, fake_slack, "jane@example.com talvez", "UPT"))
    assert "I don't know the state `maybe`" in all_text(answer(bot, fake_slack, "jane@example.com maybe", "UEN"))

    fake_hubspot.script(Scripted(401, {"status": "error", "category": "INVALID_AUTHENTICATION"}))
    assert "O HubSpot recusou o token" in all_text(answer(bot, fake_slack, "jane@example.com", "UPT"))

    # The Next page a Portuguese user asks for is posted in Portuguese.
    _, click_name = bot.sender.click(button["value"], message=page, user="UPT")
    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert "Mostrando 11–12 de 12" in all_text(posted)
    assert "A página 2 está na conversa" in all_text(fake_slack.wait_for(lambda: fake_slack.responses(click_name))[0])


def test_locale_is_looked_up_once_per_user_per_hour(settings: Settings, fake_slack: FakeSlack) -> None:
    fake_slack.locales["U1"] = "pt-BR"
    time = VirtualTime()
    resolver = LocaleResolver(make_web_client(settings), "en", ttl=3600, clock=time.clock)
    assert [resolver.language_for("U1") for _ in range(5)] == ["pt-BR"] * 5
    assert len(fake_slack.api_calls("users.info")) == 1
    assert fake_slack.api_calls("users.info")[0]["include_locale"] in (True, "true", "1")
    time.sleep(3601)
    resolver.language_for("U1")
    assert len(fake_slack.api_calls("users.info")) == 2


def test_a_failed_lookup_falls_back_to_the_default_language(
    make_bot: Callable[..., Bot], settings: Settings, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_api("users.info", "missing_scope")
    bot = make_bot(settings.with_overrides(default_language="pt-BR"))
    assert "Como usar" in all_text(answer(bot, fake_slack, "help", "UX"))


def test_a_first_time_users_language_is_looked_up_while_hubspot_answers(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_slack.locales["UNEW"] = "pt-BR"
    fake_slack.api_delay["users.info"] = 0.4
    fake_hubspot.latency = 0.4
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    page = answer(bot, fake_slack, "jane@example.com", "UNEW")
    assert "Mostrando 1–3 de 3" in all_text(page)  # the page still waited for the language
    with fake_slack.lock:
        lookup = next(p for p in fake_slack.posts if p.kind == "api" and p.name == "users.info")
    # HubSpot was asked before Slack had answered users.info: the two ran side by side, not one after the other.
    assert fake_hubspot.calls[0].started < lookup.finished


def test_a_language_lookup_that_hangs_falls_back_without_holding_the_page(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bot = make_bot(settings)
    bot.app.runtime.locales.max_wait = 0.2  # how long a page may wait for a language
    fake_slack.locales["USLOW"] = "pt-BR"
    fake_slack.api_delay["users.info"] = 1.5
    fake_hubspot.add_contact([participation(i) for i in range(3)], "jane@example.com")
    page = answer(bot, fake_slack, "jane@example.com", "USLOW")
    assert "Showing 1–3 of 3" in all_text(page)  # default language, not a stalled page


def test_a_first_time_clickers_language_is_looked_up_while_hubspot_answers(
    bot: Bot, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    fake_slack.locales["UCLICK"] = "pt-BR"
    fake_hubspot.add_contact([participation(i) for i in range(12)], "jane@example.com")
    page = answer(bot, fake_slack, "jane@example.com", "UEN")
    button = find_button(page["blocks"])
    assert button is not None
    fake_slack.api_delay["users.info"] = 0.4
    fake_hubspot.latency = 0.4
    bot.sender.click(button["value"], message=page, user="UCLICK")
    posted = fake_slack.wait_for(lambda: fake_slack.api_calls("chat.postMessage"))[0]
    assert "Mostrando 11–12 de 12" in all_text(posted)
    with fake_slack.lock:
        lookup = next(p for p in fake_slack.posts if p.name == "users.info" and p.body.get("user") == "UCLICK")
    assert fake_hubspot.calls[-1].started < lookup.finished


def test_a_refused_user_costs_no_slack_lookup(
    make_bot: Callable[..., Bot], settings: Settings, fake_hubspot: FakeHubSpot, fake_slack: FakeSlack
) -> None:
    bot = make_bot(settings.with_overrides(allowed_user_ids=frozenset({"UOK"})))
    assert "not allowed" in all_text(answer(bot, fake_slack, "jane@example.com", "UNO"))
    _, name = bot.sender.click('{"i":"jane@example.com","l":10,"p":2,"a":"x"}', message=None, user="UNO")
    assert "not allowed" in all_text(fake_slack.wait_for(lambda: fake_slack.responses(name))[0])
    assert fake_slack.api_calls("users.info") == []
    assert fake_hubspot.calls == []
