"""The Web API client: at SLACK_API_URL, retrying connection errors and only the 429s a user can wait out."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient

from bot.config import Settings


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Slack's 429 handler, honouring `Retry-After` only while it is short enough for a user to wait.

    slack_sdk's own handler sleeps whatever Slack asks (a blocked worker for a minute); past `max_wait` we give up
    and let the caller fall back (response_url) or explain.
    """

    def __init__(self, max_retry_count: int = 2, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        for name, values in response.headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(values[0]) <= self.max_wait
                except (ValueError, IndexError, TypeError):
                    return False
        return True


def slack_retry_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetryHandler(max_retry_count=2), BoundedRateLimitRetryHandler(max_retry_count=2)]


def slack_error_code(exc: Exception) -> str:
    """Slack's error code for a failed Web API call (`timeout`, `connection_error` when no answer came)."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "connection_error"


def make_web_client(settings: Settings, *, with_token: bool = True) -> WebClient:
    """A Web API client at SLACK_API_URL that retries connection errors and honours Slack's Retry-After."""
    return WebClient(
        token=(settings.slack_bot_token or None) if with_token else None,
        base_url=settings.slack_api_url,
        timeout=max(1, round(settings.slack_timeout)),
        retry_handlers=slack_retry_handlers(),
    )
