"""The commands that help run the bot: `preview` (a message in a terminal) and `check` (the set-up)."""
