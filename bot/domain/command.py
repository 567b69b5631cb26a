"""The `/participations` parser: `<email-or-id-or-name> [state] [limit=N] [summary]`. Pure functions, no I/O."""

from __future__ import annotations

import re
import unicodedata

from bot.domain.queries import (
    CONTACT_ID,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Action,
    CommandRequest,
    HelpRequest,
    InputError,
    NameSearch,
    PageQuery,
    clean_identifier,
    shorten,
    visible,
)
from bot.hubspot.models import State

MAX_COMMAND_LENGTH = 1000
MAX_NAME_LENGTH = 100


STATE_ALIASES: dict[str, State] = {
    "registered": State.REGISTERED,
    "attended": State.ATTENDED,
    "cancelled": State.CANCELLED,
    "canceled": State.CANCELLED,
    "no_show": State.NO_SHOW,
    "no-show": State.NO_SHOW,
    "noshow": State.NO_SHOW,
}
HELP_WORDS = frozenset({"help", "-h", "--help", "?", "ajuda"})

_LIMIT = re.compile(r"^(?:limit|--limit)=(.*)$", re.IGNORECASE)
# Characters a person's name may hold besides letters, marks and digits: O'Brien, Anne-Marie, J. R. R.
_NAME_PUNCTUATION = frozenset("'’.-")


def parse_state(word: str) -> State:
    state = STATE_ALIASES.get(word.strip().lower())
    if state is None:
        raise InputError("command.unknown_state", state=shorten(word))
    return state


def parse_command(text: str | None) -> HelpRequest | CommandRequest | NameSearch:
    """`<email-or-id-or-name> [state] [limit=N] [summary]`, the options in any order.

    An email (plain or `<mailto:…>`) or an all-digit id is looked up directly and stands alone; anything else that
    reads as a person's name is searched for. A name never reaches the breakdown endpoint as an identifier.
    """
    raw = visible(text or "").replace("\u00a0", " ").strip()
    if len(raw) > MAX_COMMAND_LENGTH:
        raise InputError("command.too_long", length=len(raw))
    words = raw.split()
    if not words or words[0].lower() in HELP_WORDS:
        return HelpRequest()
    state: State | None = None
    limit = DEFAULT_LIMIT
    action: Action = "page"
    identifier: str | None = None
    name_words: list[str] = []
    extra: str | None = None  # the first word that fits nothing, once the contact is known
    for word in words:
        limit_match = _LIMIT.match(word)
        if limit_match:
            limit = parse_limit(limit_match.group(1))
        elif word.lower() == "summary" and action == "page":
            action = "summary"
        elif word.lower() in STATE_ALIASES and state is None:
            state = STATE_ALIASES[word.lower()]
        elif word.lower() in STATE_ALIASES or word.lower() == "summary":  # a second one
            extra = extra or word
        elif _names_contact_directly(word):
            if identifier is not None or name_words:
                extra = extra or word
            else:
                identifier = clean_identifier(word)
        elif identifier is None and _is_name_word(word):
            name_words.append(word)
        elif identifier is None and not name_words:
            clean_identifier(word)  # raises the right answer: a Slack mention, a channel, not an address…
        else:
            extra = extra or word
    if extra is not None:
        if extra.startswith("<"):
            clean_identifier(extra)  # a Slack user or channel gets its own answer
        if state is None and not extra.isdigit() and "=" not in extra and identifier is not None:
            raise InputError("command.unknown_state", state=shorten(extra))
        if identifier is None and not _is_name_word(extra) and not _names_contact_directly(extra):
            raise InputError("command.bad_identifier", identifier=shorten(extra))
        raise InputError("command.too_many_words", word=shorten(extra))
    if identifier is not None:
        return CommandRequest(PageQuery(identifier=identifier, state=state, limit=limit), action)
    if not name_words:  # only options: say what is missing
        raise InputError("command.no_contact")
    name = " ".join(name_words)
    if len(name) > MAX_NAME_LENGTH:
        raise InputError("command.name_too_long", length=len(name), limit=MAX_NAME_LENGTH)
    return NameSearch(name=name, state=state, limit=limit, action=action)


def _names_contact_directly(word: str) -> bool:
    """An email, a Slack-wrapped anything (`<mailto:…>`, `<@U…>`), or an all-digit id: never part of a name."""
    return "@" in word or word.startswith("<") or CONTACT_ID.match(word) is not None


def _is_name_word(word: str) -> bool:
    """Letters (any script), combining marks, digits and a little punctuation, with at least one letter.

    Emoji, Slack markup, slashes, `=` and the like are not a name: they get the usual clear answer instead of a
    search that could only find nothing.
    """
    if not any(char.isalpha() for char in word):
        return False
    return all(
        char.isalnum() or unicodedata.category(char).startswith("M") or char in _NAME_PUNCTUATION for char in word
    )


def parse_limit(raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InputError("command.bad_limit", value=shorten(raw))
    return int(value)
