"""participations-bot: HubSpot marketing-event participations in Slack."""

__version__ = "0.1.0"
