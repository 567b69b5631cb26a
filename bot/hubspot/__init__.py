"""HubSpot marketing-events participations, with no Slack here: `client.py` (the calls), `pacing.py`, `session.py`,
`errors.py` (the exception tree), `models.py` (typed models). Import from those modules."""
