"""The private choice offered when a name (or a message) points at several contacts. Pure, like bot/render/page.py.

Layout: what matched and how to narrow it → one section per contact (name, email, company) with its button beside
it → context (only you can see this). Each button's value carries everything its click needs (`encode_choice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.domain.buttons import encode_choice
from bot.domain.queries import MAX_CHOICES, Choice
from bot.hubspot.models import ContactMatch
from bot.i18n import Translator
from bot.render.blocks import Block, Message, button, context, escape, message, section, truncate

CHOOSE_ACTION_ID = "participations_choose"


@dataclass(frozen=True)
class ContactOption:
    """One contact to offer: how to look it up (`identifier`: id or email) and how people recognise it."""

    identifier: str
    name: str | None = None
    email: str | None = None
    company: str | None = None

    @classmethod
    def from_match(cls, match: ContactMatch) -> ContactOption:
        return cls(match.contact_id, match.full_name, match.email, match.company)

    @property
    def label(self) -> str:
        """Plain (unescaped) text naming the contact: name, else email, else the identifier."""
        return self.name or self.email or self.identifier


def option_text(option: ContactOption, tr: Translator) -> str:
    name = escape(truncate(option.name, 100)) if option.name else tr("choice.unnamed")
    details = [escape(truncate(option.email, 254))] if option.email else []
    if option.company:
        details.append(escape(truncate(option.company, 100)))
    if option.name is None and option.email:  # an email found in a message: the address is the name
        return f"*{details[0]}*" + "".join(f" · {d}" for d in details[1:])
    return f"*{name}*" + (("\n" + " · ".join(details)) if details else "")


def render_choice(
    options: Sequence[ContactOption], intro: str, tr: Translator, *, template: Choice, total: int
) -> Message:
    """`template` holds what the user typed besides the contact (state, limit, summary) and the thread to post in."""
    blocks: list[Block] = [section(intro, block_id="choice-intro")]
    for index, option in enumerate(options[:MAX_CHOICES]):
        choice = replace(template, identifier=option.identifier, label=option.label)
        block = section(option_text(option, tr), block_id=f"choice-{index}")
        block["accessory"] = button(tr("choice.button"), CHOOSE_ACTION_ID, encode_choice(choice))
        blocks.append(block)
    blocks.append(context(tr("choice.only_you"), block_id="choice-note"))
    fallback = tr("choice.fallback", total=tr.number(total))
    return message(fallback, blocks)


def render_chosen(label: str, tr: Translator) -> Message:
    """What the choice message becomes once used: who was chosen, and no buttons left to click twice."""
    text = tr("choice.chosen", who=escape(truncate(label, 150)))
    return {"text": text, "blocks": [section(text, block_id="choice-done")]}
