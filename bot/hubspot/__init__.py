"""HubSpot marketing-events participations: client, typed models and errors (no Slack here)."""

from bot.hubspot.client import HubSpotClient, RateGovernor, RetryPolicy
from bot.hubspot.errors import (
    REQUIRED_SCOPE,
    SEARCH_SCOPE,
    AuthenticationFailed,
    BadRequest,
    ContactNotFound,
    DailyLimitReached,
    HubSpotError,
    MissingScopes,
    RateLimited,
    Unavailable,
    UnexpectedResponse,
)
from bot.hubspot.models import (
    BreakdownPage,
    Contact,
    ContactMatch,
    MarketingEvent,
    Participation,
    SearchResult,
    State,
)

__all__ = [
    "REQUIRED_SCOPE",
    "SEARCH_SCOPE",
    "AuthenticationFailed",
    "BadRequest",
    "BreakdownPage",
    "Contact",
    "ContactMatch",
    "ContactNotFound",
    "DailyLimitReached",
    "HubSpotClient",
    "HubSpotError",
    "MarketingEvent",
    "MissingScopes",
    "Participation",
    "RateGovernor",
    "RateLimited",
    "RetryPolicy",
    "SearchResult",
    "State",
    "Unavailable",
    "UnexpectedResponse",
]
