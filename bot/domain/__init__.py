"""What the bot knows apart from Slack and HubSpot: the command parser, button values, summary figures, CSV rows."""
