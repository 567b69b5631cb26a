"""One catalogue, two languages, and nothing said in only one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot
import bot.i18n
from bot.i18n import CATALOGUE, Translator, normalise_language, placeholders


def test_every_key_exists_in_every_language() -> None:
    english = set(CATALOGUE["en"])
    for language, texts in CATALOGUE.items():
        assert set(texts) == english, f"{language}: {sorted(set(texts) ^ english)}"


def test_placeholders_match_between_languages() -> None:
    for key, template in CATALOGUE["en"].items():
        for language, texts in CATALOGUE.items():
            assert placeholders(texts[key]) == placeholders(template), f"{language}:{key}"


FORMAT_ONLY = {
    "page.contact_line",
    "page.contact_line_no_name",
    "summary.state_count",
}  # markup and placeholders, no words


def test_nothing_is_left_untranslated_or_empty() -> None:
    identical = {k for k, v in CATALOGUE["pt-BR"].items() if v == CATALOGUE["en"][k]}
    assert identical <= FORMAT_ONLY, identical - FORMAT_ONLY
    assert all(v.strip() for texts in CATALOGUE.values() for v in texts.values())


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("pt-BR", "pt-BR"), ("pt-PT", "pt-BR"), ("pt", "pt-BR"), ("en-US", "en"), ("ja-JP", "en"), ("es-LA", "en")],
)
def test_slack_locales_map_to_catalogue_languages(tag: str, expected: str) -> None:
    assert normalise_language(tag) == expected


def test_numbers_follow_the_language() -> None:
    assert Translator("en").number(1234567) == "1,234,567"
    assert Translator("pt-BR").number(1234567) == "1.234.567"
    assert Translator("pt-BR").percent(87.5) == "87,5%"
    assert Translator("en").percent(87.0) == "87%"


def test_every_text_is_used_somewhere() -> None:
    """A key nothing renders is dead text that translators would keep maintaining."""
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in Path(bot.__file__).parent.rglob("*.py")
        if path != Path(bot.i18n.__file__)
    )
    dynamic = ("state.",)  # state labels are looked up by HubSpot value
    unused = [
        key
        for key in CATALOGUE["en"]
        if f'"{key}"' not in sources and f"'{key}'" not in sources and not key.startswith(dynamic)
    ]
    assert unused == []
