"""The audit trail: one line per request (who, where, which contact — masked —, outcome, latency, reference)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.config import Settings

audit_log = logging.getLogger("bot.audit")

Clock = Callable[[], float]


def new_reference() -> str:
    """Our own short request id, shown to users and logged, when HubSpot gives no correlationId."""
    return uuid.uuid4().hex[:10]


def mask_identifier(identifier: str, key: bytes) -> str:
    """A log-safe stand-in for an email or contact id: the same contact always gets the same mask (to follow it
    across lines), but without `key` (derived from this deployment's secrets) no one can test a list of emails
    or ids against the logs. Case-insensitive, as HubSpot's email matching is."""
    normalised = identifier.strip().lower()
    digest = hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{'email' if '@' in normalised else 'id'}#{digest}"


def mask_key(settings: Settings) -> bytes:
    """The key for `mask_identifier`: secrets that never reach the logs, so masks cannot be recomputed from them."""
    secrets = (settings.slack_signing_secret, settings.slack_app_token, settings.slack_bot_token)
    material = "\0".join((*secrets, settings.hubspot_access_token)).encode()
    return hashlib.sha256(b"participations-bot log masks\0" + material).digest()


@dataclass(frozen=True)
class AuditLog:
    """Writes the audit lines; `mask_key` keys the contact masks (see mask_identifier), `clock` times requests."""

    mask_key: bytes = b""
    clock: Clock = time.monotonic

    def record(
        self,
        kind: str,
        *,
        body: dict[str, Any],
        identifier: str | None,
        state: str | None,
        page: int | None,
        outcome: str,
        started: float,
        reference: str,
    ) -> None:
        user = body.get("user_id") or _field(body.get("user"), "id")
        channel = body.get("channel_id") or _field(body.get("channel"), "id")
        contact = mask_identifier(identifier, self.mask_key) if identifier else None
        audit_log.info(
            "%s user=%s channel=%s contact=%s state=%s page=%s outcome=%s latency_ms=%d ref=%s",
            kind,
            user,
            channel,
            contact or "-",
            state or "any",
            page if page is not None else "-",
            outcome,
            (self.clock() - started) * 1000,
            reference,
            extra={
                "audit": {
                    "kind": kind,
                    "user": user,
                    "channel": channel,
                    "contact": contact,
                    "state": state,
                    "page": page,
                    "outcome": outcome,
                    "reference": reference,
                }
            },
        )


def _field(value: Any, name: str) -> Any:
    """`value[name]` when `value` is an object: a broken payload still gets its audit line."""
    return value.get(name) if isinstance(value, dict) else None
