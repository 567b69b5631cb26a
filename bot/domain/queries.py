"""What a request asks for, whether typed or carried by a button: the queries and their limits. Pure.

Bad input is `InputError(key, **values)` with a catalogue key, so a listener can say it in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from bot.hubspot.models import State

MAX_IDENTIFIER_LENGTH = 254
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_CHOICES = 5  # contacts offered as buttons when a name (or a message) matches several

_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$", re.IGNORECASE)
_SLACK_ESCAPE = re.compile(r"^<([@#!])[^>]*>$")
_LINK = re.compile(r"^<([^|>]+)(?:\|([^>]*))?>$")
_EMAIL = re.compile(r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$")
CONTACT_ID = re.compile(r"^[0-9]{1,20}$")

Action = Literal["page", "summary"]


class InputError(ValueError):
    """Bad input: `key` names the catalogue text, `values` fill it."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class HelpRequest:
    """Empty text or `help`."""


@dataclass(frozen=True)
class PageQuery:
    """Everything needed to fetch and render one page; it is what a Next button carries."""

    identifier: str
    state: State | None = None
    limit: int = DEFAULT_LIMIT
    after: str | None = None
    page: int = 1

    @property
    def first_index(self) -> int:
        """1-based position of this page's first result (pages keep the same limit)."""
        return (self.page - 1) * self.limit + 1


@dataclass(frozen=True)
class CommandRequest:
    query: PageQuery
    action: Action = "page"


@dataclass(frozen=True)
class NameSearch:
    """`/participations <name> [state] [limit=N] [summary]`: find the contact first, then do as for an email."""

    name: str
    state: State | None = None
    limit: int = DEFAULT_LIMIT
    action: Action = "page"


def clean_identifier(raw: str) -> str:
    """Strip Slack's `<mailto:x|x>` wrapper and check the result is an email or a numeric contact id."""
    token = raw.strip()
    mailto = _MAILTO.match(token)
    if mailto:
        token = mailto.group(1).strip()
    elif _SLACK_ESCAPE.match(token):
        if token.startswith("<@"):
            raise InputError("command.user_mention")
        raise InputError("command.bad_identifier", identifier=shorten(token))
    else:
        link = _LINK.match(token)
        if link:  # Slack auto-linked something; the label is what the user typed
            token = (link.group(2) or link.group(1)).strip()
    if len(token) > MAX_IDENTIFIER_LENGTH or not (_EMAIL.match(token) or CONTACT_ID.match(token)):
        raise InputError("command.bad_identifier", identifier=shorten(token))
    return token


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ContactQuery:
    """Which records a Summary or Export CSV button covers: a contact and an optional state, nothing else."""

    identifier: str
    state: State | None = None


@dataclass(frozen=True)
class Choice:
    """What a choice button carries: the contact, what was typed with its name, and where the answer goes.

    `root` is the thread to post in (a message shortcut's message), None to post in the channel; `label` is who
    the button shows, so the choice message can say who was chosen without another lookup.
    """

    identifier: str
    state: State | None = None
    limit: int = DEFAULT_LIMIT
    action: Action = "page"
    root: str | None = None
    label: str = ""

    @property
    def query(self) -> PageQuery:
        return PageQuery(identifier=self.identifier, state=self.state, limit=self.limit)


def visible(text: str) -> str:
    """Drop invisible format characters (zero-width spaces, bidi overrides, BOM) that pasted text carries:
    they would make a valid email look unknown to HubSpot, and can reverse how an echoed answer reads."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")
