"""Thin Slack listeners, one module per thing a user does (as in Slack's Bolt starter template); `_shared/` holds
what they have in common."""

from slack_bolt import App

from bot.listeners import choose_contact, command, export_button, message_shortcut, next_page, summary_button
from bot.services import Services


def register(app: App, services: Services) -> None:
    command.register(app, services)
    next_page.register(app, services)
    summary_button.register(app, services)
    export_button.register(app, services)
    choose_contact.register(app, services)
    message_shortcut.register(app, services)
