"""`participations-bot`: serve (HTTP), socket (Socket Mode). A thin entry point over the app factory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Mode, Settings, load_settings


def _settings_for(mode: Mode) -> Settings:
    settings = load_settings()
    settings.require(mode)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings_for("http")
    from bot.server import GunicornServer

    GunicornServer(settings, host=args.host, port=args.port).run()
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    settings = _settings_for("socket")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app
    from bot.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    SocketModeHandler(build_app(settings), settings.slack_app_token).start()  # type: ignore[no-untyped-call]
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="participations-bot",
        description="Slack bot: a contact's HubSpot marketing-event participations, page by page.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="HTTP mode under gunicorn (POST /slack/events, GET /healthz)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default: $PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default: 0.0.0.0)")  # noqa: S104
    serve.set_defaults(handler=cmd_serve)

    socket = commands.add_parser("socket", help="Socket Mode (no public URL needed; run one process only)")
    socket.set_defaults(handler=cmd_socket)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"participations-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
