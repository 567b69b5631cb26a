"""A small exception tree, modelled on `requests`: each error carries what HubSpot said about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUIRED_SCOPE = "crm.objects.marketing_events.read"
# Optional: only finding a contact by name (CRM search) needs it; lookups by email or id never do.
SEARCH_SCOPE = "crm.objects.contacts.read"


class HubSpotError(Exception):
    """Base class. `correlation_id` is HubSpot's (or ours when HubSpot gave none): show it, log it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        category: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.correlation_id = correlation_id
        self.category = category


class ContactNotFound(HubSpotError):
    """404: HubSpot knows no contact by that email or id."""


class BadRequest(HubSpotError):
    """400: HubSpot rejected a parameter (never retried)."""


class AuthenticationFailed(HubSpotError):
    """401: the token is invalid or expired; an admin must fix it (HubSpot: do not retry)."""


class MissingScopes(HubSpotError):
    """403: the token lacks a scope."""

    def __init__(self, message: str, *, required_scopes: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.required_scopes = required_scopes or (REQUIRED_SCOPE,)


class RateLimited(HubSpotError):
    """429 that persisted through our retry budget."""

    def __init__(
        self, message: str, *, policy: str | None = None, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.policy = policy
        self.retry_after = retry_after


class DailyLimitReached(RateLimited):
    """429 with policy DAILY: the account's quota is gone until midnight; never retried."""


class Unavailable(HubSpotError):
    """5xx, timeouts and connection errors that outlasted the retries."""


class UnexpectedResponse(HubSpotError):
    """A body we cannot read: HTML, malformed JSON, or JSON without `results`."""


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def required_scopes_from(body: Mapping[str, Any]) -> tuple[str, ...]:
    """HubSpot puts them in `errors[].context`, or top-level `context`, under two names."""
    found: list[str] = []
    contexts: list[Any] = [body.get("context")]
    errors = body.get("errors")
    if isinstance(errors, list):
        contexts.extend(error.get("context") for error in errors if isinstance(error, Mapping))
    for context in contexts:
        if isinstance(context, Mapping):
            for key in ("requiredScopes", "requiredGranularScopes"):
                for scope in _strings(context.get(key)):
                    if scope not in found:
                        found.append(scope)
    return tuple(found)
