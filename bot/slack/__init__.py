"""Slack beyond Bolt: the Web API client we build, the response_url poster, the user's locale."""
