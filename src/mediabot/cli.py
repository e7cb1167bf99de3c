"""The `mediabot` command: parses arguments and calls an entry point in `mediabot.app`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from mediabot import __version__
from mediabot.app.errors import StartupError
from mediabot.config import ConfigError, Settings, load_settings
from mediabot.domain.links import normalise_link


class _VersionAction(argparse.Action):
    """`--version`: mediabot's and the tools' it runs (found only when asked: it takes time)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from mediabot.app.versions import describe_versions

        print(describe_versions(__version__))
        parser.exit()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediabot",
        description="A Telegram bot that sends back the video or audio behind a link.",
        epilog="Settings come from the environment; see the README for the variables.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the versions of mediabot and its tools"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run", help="the whole bot in one process: bot, workers and migrations (embedded default)"
    )
    commands.add_parser("bot", help="the bot half: receives updates and publishes jobs")
    commands.add_parser("worker", help="the worker half: takes jobs, downloads and sends")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser(
        "health", help="exit 0 if the database (schema current) and the broker answer"
    )

    formats = commands.add_parser("formats", help="list the resolutions a link offers")
    formats.add_argument("url")

    download = commands.add_parser("download", help="download a link to a folder")
    download.add_argument("url")
    choice = download.add_mutually_exclusive_group()
    choice.add_argument("--res", type=int, metavar="HEIGHT", help="video at exactly this height")
    choice.add_argument("--audio", action="store_true", help="audio only")
    download.add_argument("-o", "--output", type=Path, default=Path(), metavar="DIR")
    return parser


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Entry points are imported on demand so `mediabot formats` never loads aiogram.
    if args.command == "migrate":
        from mediabot.app.migrate import migrate_command

        return await migrate_command(settings)
    if args.command == "health":
        from mediabot.app.checks import health_command

        return await health_command(settings)
    if args.command == "formats":
        from mediabot.app.tools import formats_command

        return await formats_command(settings, normalise_link(args.url))
    if args.command == "download":
        from mediabot.app.tools import download_command

        return await download_command(
            settings, normalise_link(args.url), res=args.res, audio=args.audio, out_dir=args.output
        )
    from mediabot.app.processes import run_process

    return await run_process(args.command, settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"mediabot: {exc}", file=sys.stderr)
        return 2
    from mediabot.app.logs import configure_logging

    configure_logging(settings)
    try:
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"mediabot: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"mediabot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
