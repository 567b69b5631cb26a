"""Links out of Slack: a contact's record in HubSpot (needs HUBSPOT_PORTAL_ID)."""

from __future__ import annotations

from bot.config import Settings


def contact_url(settings: Settings, contact_id: str | None) -> str | None:
    """Link to the contact's HubSpot record when the portal is configured."""
    if not contact_id or not settings.hubspot_portal_id or not contact_id.isdigit():
        return None
    base = settings.hubspot_app_base.rstrip("/")
    return f"{base}/contacts/{settings.hubspot_portal_id}/record/0-1/{contact_id}"
