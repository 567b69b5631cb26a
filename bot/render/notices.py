"""Notices: usage help, errors and refusals in the user's language, with the reference an admin can search for."""

from __future__ import annotations

from typing import Any

from bot.domain.queries import InputError
from bot.hubspot import errors
from bot.i18n import Translator
from bot.render.blocks import Block, Message, context, escape, header, section


def render_usage(tr: Translator) -> Message:
    return {
        "text": tr("usage.fallback"),
        "blocks": [header(tr("usage.title")), section(tr("usage.body"))],
    }


def render_notice(text: str, tr: Translator, reference: str | None = None) -> Message:
    """An error or refusal, with a reference an admin can find in the logs."""
    blocks: list[Block] = [section(text)]
    if reference:
        blocks.append(context(tr("error.reference", reference=escape(reference))))
        fallback = f"{text} ({tr('error.reference', reference=escape(reference))})"
    else:
        fallback = text
    return {"text": fallback, "blocks": blocks}


def hubspot_error_text(error: errors.HubSpotError, tr: Translator, identifier: str) -> str:
    if isinstance(error, errors.ContactNotFound):
        return tr("error.not_found", identifier=escape(identifier))
    if isinstance(error, errors.MissingScopes):
        return tr("error.scope", scopes=", ".join(f"`{escape(s)}`" for s in error.required_scopes))
    if isinstance(error, errors.BadRequest):
        return tr("error.bad_request", detail=escape(error.message[:300]))
    # Most specific first: a DailyLimitReached is also a RateLimited.
    for kind, key in _PLAIN_ERROR_KEYS:
        if isinstance(error, kind):
            return tr(key)
    return tr("error.unexpected")


_PLAIN_ERROR_KEYS: tuple[tuple[type[errors.HubSpotError], str], ...] = (
    (errors.AuthenticationFailed, "error.auth"),
    (errors.DailyLimitReached, "error.daily_limit"),
    (errors.RateLimited, "error.rate_limited"),
    (errors.Unavailable, "error.unavailable"),
)


def input_error_text(exc: InputError, tr: Translator) -> str:
    """Catalogue text for bad input; some templates end with the shared `{hint}`, which parsing leaves to us."""
    return tr(exc.key, **{"hint": tr("command.hint"), **_escaped(exc.values)})


def _escaped(values: dict[str, Any]) -> dict[str, Any]:
    return {key: escape(value) if isinstance(value, str) else value for key, value in values.items()}
