"""A small exception tree, modelled on `requests`: each error carries what HubSpot said about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.hubspot.session import header_number

if TYPE_CHECKING:
    import requests

REQUIRED_SCOPE = "crm.objects.marketing_events.read"
# Optional: only finding a contact by name (CRM search) needs it; lookups by email or id never do.
SEARCH_SCOPE = "crm.objects.contacts.read"


class HubSpotError(Exception):
    """Base class. `correlation_id` is HubSpot's, None when it gave none (listeners then show our own reference)."""

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


RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


def error_from_response(response: requests.Response) -> HubSpotError:
    """Map a non-200 answer to our exception tree; every field of the body is optional."""
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    body: Mapping[str, Any] = parsed if isinstance(parsed, Mapping) else {}
    status = response.status_code
    correlation_id = _str(body.get("correlationId")) or response.headers.get("X-HubSpot-Correlation-Id")
    category = _str(body.get("category"))
    message = _str(body.get("message")) or f"HTTP {status}"
    common: dict[str, Any] = {"status": status, "correlation_id": correlation_id, "category": category}
    if status == 404:
        # Only HubSpot's own "no such object" means an unknown contact; any other 404 (an HTML page, a proxy, a
        # wrong HUBSPOT_API_BASE or API version) would otherwise pass for "every contact is unknown".
        if category == "OBJECT_NOT_FOUND":
            return ContactNotFound(message, **common)
        return UnexpectedResponse(f"HubSpot answered HTTP 404 ({category or 'not its contact error'})", **common)
    if status == 400:
        return BadRequest(message, **common)
    if status == 401:
        return AuthenticationFailed(message, **common)
    if status == 403:
        return MissingScopes(message, required_scopes=required_scopes_from(body), **common)
    if status == 429:
        policy = _str(body.get("policyName"))
        retry_after = header_number(response.headers, "Retry-After")
        if policy and policy.upper() == "DAILY":
            return DailyLimitReached(message, policy=policy, retry_after=retry_after, **common)
        return RateLimited(message, policy=policy, retry_after=retry_after, **common)
    if status in RETRYABLE_STATUSES:
        return Unavailable(message, **common)
    if parsed is None and status >= 500:
        return Unavailable(message, **common)
    return UnexpectedResponse(f"HubSpot answered HTTP {status}", **common)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
