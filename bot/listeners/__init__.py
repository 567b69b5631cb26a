"""Thin Slack listeners, one module per kind (as in Slack's Bolt starter template)."""

from slack_bolt import App

from bot.listeners import actions, commands, export, lookup, shortcut, summary
from bot.services import Services


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    summary.register(app, services)
    export.register(app, services)
    lookup.register(app, services)
    shortcut.register(app, services)
