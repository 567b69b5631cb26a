"""`participations-bot`: serve (HTTP), socket (Socket Mode), preview (no Slack), check (configuration).

A thin entry point over the app factory and the tools; `main(argv, environ)` lets tests inject the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.config import SUPPORTED_LANGUAGES, ConfigError, Mode, Settings, load_settings
from bot.domain.queries import DEFAULT_LIMIT, MAX_LIMIT

log = logging.getLogger(__name__)


def _settings_for(mode: Mode, environ: Mapping[str, str] | None = None) -> Settings:
    settings = load_settings(environ)
    settings.require(mode)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings_for("http", args.environ)
    from bot.serve.allocator import cap_malloc_arenas
    from bot.serve.gunicorn import GunicornServer, metrics_directory

    cap_malloc_arenas()  # before any thread exists; gunicorn's workers inherit it (README: Performance)
    with metrics_directory() as metrics_dir:
        GunicornServer(settings, host=args.host, port=args.port, metrics_dir=metrics_dir).run()
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    settings = _settings_for("socket", args.environ)
    from bot.serve.allocator import cap_malloc_arenas

    cap_malloc_arenas()  # before the listener pool's threads exist
    from bot.serve.socket_mode import run_socket_mode

    return run_socket_mode(settings, metrics_host=args.metrics_host, metrics_port=args.metrics_port)


def cmd_preview(args: argparse.Namespace) -> int:
    from bot.tools.preview import PreviewRequest, preview_main

    # The preview options are named after the request's fields (see build_parser).
    request = PreviewRequest(**{field.name: getattr(args, field.name) for field in dataclasses.fields(PreviewRequest)})
    return preview_main(request, args.environ)


def cmd_check(args: argparse.Namespace) -> int:
    from bot.tools.check import check_main

    return check_main("socket" if args.socket else "http", args.environ)


def _bounded_int(low: int, high: int) -> type[int]:
    def parse(raw: str) -> int:
        if not raw.strip().isdigit() or not low <= int(raw) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {raw!r}")
        return int(raw)

    return parse  # type: ignore[return-value]


def _language(raw: str) -> str:
    for language in SUPPORTED_LANGUAGES:
        if raw.strip().lower() == language.lower():
            return language
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}, got {raw!r}")


PREVIEW_EXAMPLES = """\
examples:
  participations-bot preview --sample jane@example.com          bundled sample data, no configuration
  participations-bot preview --sample "Jane Doe"                a name: the contact is searched for first
  participations-bot preview --sample silva                     a name several contacts share: the choice
  participations-bot preview --sample 101 attended --limit 5    a state filter and a page size
  participations-bot preview jane@acme.com --json               the Block Kit payload (HUBSPOT_ACCESS_TOKEN)
"""


def _preview_epilog() -> str:
    from bot.sample import sample_identifiers

    contacts = ", ".join(f"{email} (id {contact_id}, {count})" for email, contact_id, count in sample_identifiers())
    return (
        f"{PREVIEW_EXAMPLES}\nsample contacts (participations): {contacts}.\n"
        "exit status: 0 a page (or 'no participations') was shown; 1 HubSpot refused or failed; "
        "2 bad input or settings.\n"
    )


def _subcommand(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int], **options: Any
) -> argparse.ArgumentParser:
    """A subcommand's parser, with the function that runs it declared where the subcommand is."""
    parser: argparse.ArgumentParser = commands.add_parser(name, **options)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="participations-bot",
        description="Slack bot: a contact's HubSpot marketing-event participations, page by page.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _subcommand(
        commands, "serve", cmd_serve, help="HTTP mode under gunicorn (POST /slack/events, GET /healthz)"
    )
    serve.add_argument(
        "--port", type=_bounded_int(1, 65535), default=None, help="port to listen on (default: $PORT or 3000)"
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default: 0.0.0.0)")  # noqa: S104

    socket = _subcommand(
        commands, "socket", cmd_socket, help="Socket Mode (no public URL needed; several processes need REDIS_URL)"
    )
    socket.add_argument(
        "--metrics-port",
        type=_bounded_int(1, 65535),
        default=None,
        help="also serve GET /metrics and /healthz on this port (default: $METRICS_PORT, else none)",
    )
    socket.add_argument(
        "--metrics-host",
        default="0.0.0.0",  # noqa: S104  # scraped from another host or pod; METRICS_TOKEN guards it
        help="address for that port (default: 0.0.0.0)",
    )

    preview = _subcommand(
        commands,
        "preview",
        cmd_preview,
        help="show what the bot would post for a contact, in the terminal (no Slack needed)",
        description="Look a contact up in HubSpot with the bot's own client and print the bot's message.",
        epilog=_preview_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preview.add_argument(
        "identifier",
        metavar="CONTACT",
        help="the contact's email, HubSpot id, or name (quote a name of several words)",
    )
    preview.add_argument(
        "state", nargs="?", default=None, help="registered, attended, cancelled or no_show (default: every state)"
    )
    preview.add_argument(
        "--limit",
        type=_bounded_int(1, MAX_LIMIT),
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"results per page, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})",
    )
    preview.add_argument("--after", metavar="CURSOR", help="page cursor, as printed next to [ Next page ]")
    preview.add_argument(
        "--page",
        type=_bounded_int(1, 1_000_000),
        default=1,
        metavar="N",
        help="page number for the 'Showing x-y' line (printed with the cursor)",
    )
    preview.add_argument(
        "--json", dest="as_json", action="store_true", help="print the Block Kit payload as JSON (logs go to stderr)"
    )
    preview.add_argument("--sample", action="store_true", help="use the bundled sample data: no credentials needed")
    preview.add_argument(
        "--lang",
        dest="language",
        metavar="LANG",
        type=_language,
        default=None,
        help="en or pt-BR (default: BOT_DEFAULT_LANGUAGE, else en)",
    )

    check = _subcommand(
        commands,
        "check",
        cmd_check,
        help="check the configuration: variables, Slack token, HubSpot token and scope (exit 0 when ready)",
        description="One line per part, ✓ or ✗ with what to do. Secret values are never printed.",
    )
    check.add_argument("--socket", action="store_true", help="check for Socket Mode instead of HTTP mode")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run a command; `environ` replaces os.environ and .env (tests)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.environ = environ
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"participations-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `participations-bot preview … | head`
        return 0
    except Exception as exc:  # one clear line, never a traceback; details at LOG_LEVEL=DEBUG
        log.debug("unexpected failure", exc_info=True)
        print(f"participations-bot: unexpected error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
