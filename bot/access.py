"""Who may use the bot: optional allow-lists of users, channels and workspaces (ALLOWED_*_IDS)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings


@dataclass(frozen=True)
class AccessPolicy:
    """Optional allow-lists; an empty list lets everyone in."""

    user_ids: frozenset[str] = frozenset()
    channel_ids: frozenset[str] = frozenset()
    team_ids: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(settings.allowed_user_ids, settings.allowed_channel_ids, settings.allowed_team_ids)

    def allows(self, user_id: str | None, channel_id: str | None, team_id: str | None) -> bool:
        return all(
            not allowed or (value is not None and value in allowed)
            for allowed, value in (
                (self.user_ids, user_id),
                (self.channel_ids, channel_id),
                (self.team_ids, team_id),
            )
        )
