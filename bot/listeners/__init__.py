"""Thin Slack listeners, one module per thing a user does (as in Slack's Bolt starter template); `_shared/` holds
what they have in common."""

from slack_bolt import App

from bot.listeners import choose_contact, command, export_button, message_shortcut, next_page, summary_button
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    command.register(app, runtime)
    next_page.register(app, runtime)
    summary_button.register(app, runtime)
    export_button.register(app, runtime)
    choose_contact.register(app, runtime)
    message_shortcut.register(app, runtime)
