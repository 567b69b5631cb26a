"""What tests and the benchmark share: loopback HubSpot and Slack, signed requests, a real redis-server, waiting,
and starting the bot as a process. Importable as `tests.support` from the repository root (no sys.path edits)."""
