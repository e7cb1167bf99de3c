"""Telegram's budget alone: several processes send as fast as the shared budget lets them.

Each child process builds the bot the way `mediabot bot`/`worker` do on PostgreSQL (a
`Pacer` over the `PostgresBudget` of one fresh database) and sends `--messages` short texts
at once to its chats, through the fake Bot API enforcing Telegram's limits (30 a second
overall, one a second per chat after a burst of 3). Some chats are shared by all the
processes, as a chat gets its keyboard from the bot and its file from a worker. Printed:
messages accepted, 429s, the busiest second, and messages/s from the first to the last.

    .venv/bin/python bench/bench_budget.py [--processes 7] [--messages 150] [--chats 60]

Exits 1 on any 429. No mediabot pipeline runs: this is the budget's own ceiling, with no
CPU spent on lookups or jobs (see bench_pipeline.py for the whole thing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fake_telegram import FakeTelegram  # noqa: E402
from tests.support.services import PG_ADMIN_DSN  # noqa: E402


async def _child(args: argparse.Namespace) -> None:
    from mediabot.config import load_settings
    from mediabot.db.budget import PostgresBudget
    from mediabot.db.engine import create_engine
    from mediabot.telegram.client import create_bot
    from mediabot.telegram.pacing import Pacer

    settings = load_settings(bot_token=args.token, telegram_api_url=args.api)
    engine = create_engine(args.database)
    bot = create_bot(settings, pacer=Pacer(PostgresBudget(engine)))
    shared = range(1, args.chats + 1)
    own = range(args.index * 100_000, args.index * 100_000 + args.chats)

    async def send(number: int) -> None:
        chats = shared if number % 2 else own
        await bot.send_message(chat_id=chats[number % len(chats)], text=f"m{number}")

    try:
        await asyncio.gather(*(send(number) for number in range(args.messages)))
    finally:
        await bot.session.close()
        await engine.dispose()


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _main(args: argparse.Namespace) -> int:
    name = f"mediabot_bench_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    database = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )
    try:
        from mediabot.db.migrate import upgrade_url

        await upgrade_url(database)
        with (
            tempfile.TemporaryDirectory() as folder,
            FakeTelegram(Path(folder), enforce_rate_limits=True) as telegram,
        ):
            children = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--child",
                    json.dumps(
                        {
                            "index": index + 1,
                            "token": telegram.token,
                            "api": telegram.base_url,
                            "database": database,
                            "messages": args.messages,
                            "chats": args.chats,
                        }
                    ),
                    env={**os.environ, "LOG_LEVEL": "WARNING"},
                )
                for index in range(args.processes)
            ]
            codes = [await asyncio.wait_for(child.wait(), 600) for child in children]
            calls = [call for call in telegram.calls if call.method == "sendMessage"]
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    first = next((call for call in calls if call.status == 429), None)
    if first is not None and args.verbose:
        chat = first.params.get("chat_id")
        history = [
            f"{call.time - calls[0].time:.3f}:{call.status}"
            for call in calls
            if call.params.get("chat_id") == chat
        ]
        print(f"first 429 in chat {chat}; its calls: {history}")
    accepted = sorted(call.time for call in calls if call.ok)
    refused = sum(1 for call in calls if call.status == 429)
    busiest = max(
        (sum(1 for t in accepted[i:] if t < start + 1.0) for i, start in enumerate(accepted)),
        default=0,
    )
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    rate = (len(accepted) - 1) / span if span else 0.0
    print(
        f"{args.processes} processes x {args.messages} messages: {len(accepted)} accepted,"
        f" {refused} x 429, busiest second {busiest}, {rate:.1f} messages/s over {span:.1f} s,"
        f" exit codes {codes}"
    )
    return 1 if refused or any(codes) else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=7, help="the bot and six workers")
    parser.add_argument("--messages", type=int, default=150, help="messages per process")
    parser.add_argument("--chats", type=int, default=60, help="chats per process (and shared)")
    parser.add_argument("--verbose", action="store_true", help="the first 429's chat")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.child:
        asyncio.run(_child(argparse.Namespace(**json.loads(arguments.child))))
        sys.exit(0)
    sys.exit(asyncio.run(_main(arguments)))
