"""Block Kit views: pure functions from data to Slack messages; nothing here calls out."""
