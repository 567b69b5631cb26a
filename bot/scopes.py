"""The Slack bot scopes the code needs: the one list `manifest.yml`, `check` and the tests compare against.

Add a scope here when a feature starts calling a Web API method that needs it (and add it to `manifest.yml`,
where `tests/test_manifest.py` will insist on it).
"""

from __future__ import annotations

REQUIRED_BOT_SCOPES: frozenset[str] = frozenset(
    {
        "commands",  # the /participations slash command
        "chat:write",  # post Next pages into the thread of the first result
        "chat:write.public",  # ... also in public channels the bot has not joined
        "users:read",  # users.info: each user's locale, to answer in English or Portuguese
        "files:write",  # files_upload_v2: the Export CSV file, into the thread of the first result
    }
)
