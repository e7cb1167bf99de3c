"""The Compose services for real: each one's exact command and environment from
`compose.yaml`, run against the local PostgreSQL and RabbitMQ instead of the stack's.

Only what names the stack's own machines is replaced: `DATABASE_URL` and `AMQP_URL` (the
local servers), the Telegram address (the fake Bot API), `DATA_DIR` (a folder per process,
as each container has its own) and `METRICS_PORT` and `WEBHOOK_LISTEN` (a free port each:
the containers have an address each, these processes share one). Everything else is
Compose's, `LOG_FORMAT=json` included; each service's healthcheck is run as Docker would.
The `webhook` profile's Caddy runs as Debian's caddy with the Compose proxy options
(`support.caddy`).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mediabot.db.engine import create_engine
from tests.deploy.stack import load_compose, service_environment
from tests.support.caddy import Caddy
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.forkserver import run_mediabot
from tests.support.media import MediaSources
from tests.support.ports import free_port
from tests.support.processes import MediabotProcess, mediabot_env, stop_all


@dataclass
class Stack:
    """Starts Compose services as local processes; stops them all at the end."""

    compose: dict[str, Any]
    telegram: FakeTelegram
    root: Path
    servers: dict[str, str]
    started: list[MediabotProcess] = field(default_factory=list)

    def environment(self, service: str, label: str, **dotenv: str) -> dict[str, str]:
        """Compose's environment of `service`, with `dotenv` as `.env` would add it."""
        env = {**dotenv, **service_environment(self.compose, service)}
        env.update(self.servers)
        env.update(DATA_DIR=str(self.root / label), METRICS_PORT=str(free_port()))
        # mediabot_env wires the fake Bot API and loopback media; Compose's values win.
        base = mediabot_env(self.telegram, self.root / label)
        return {**base, **env, "BOT_TOKEN": self.telegram.token}

    def command(self, service: str) -> str:
        command: list[str] = self.compose["services"][service]["command"]
        assert len(command) == 1, command
        return command[0]

    def start(
        self, service: str, label: str, *, listen: str | None = None, **dotenv: str
    ) -> MediabotProcess:
        """Start `service`; `listen` replaces its WEBHOOK_LISTEN (the replica's address)."""
        env = self.environment(service, label, **dotenv)
        if listen is not None:
            env["WEBHOOK_LISTEN"] = listen
        process = MediabotProcess(self.command(service), env, self.root / f"{label}.log")
        self.started.append(process.start())
        return process

    def healthcheck(
        self, service: str, label: str, **dotenv: str
    ) -> subprocess.CompletedProcess[str]:
        """The service's healthcheck command, as Docker runs it in the container."""
        test: list[str] = self.compose["services"][service]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "mediabot"], test
        return run_mediabot(test[2:], self.environment(service, label, **dotenv), timeout=120)


@pytest.fixture
def stack(
    fake_telegram: FakeTelegram,
    tmp_path: Path,
    make_pg_database: Callable[[], str],
    make_amqp_vhost: Callable[[], str],
) -> Iterator[Stack]:
    servers = {
        "DATABASE_URL": make_pg_database().replace("+asyncpg", ""),
        "AMQP_URL": make_amqp_vhost(),
    }
    stack = Stack(load_compose(), fake_telegram, tmp_path, servers)
    yield stack
    stop_all(stack.started)


def _migrate(stack: Stack) -> None:
    migrate = stack.start("migrate", "migrate")
    assert migrate.wait(180) == 0, migrate.log[-3000:]


async def test_each_service_runs_as_compose_says(stack: Stack, media: MediaSources) -> None:
    _migrate(stack)
    bot = stack.start("bot", "bot")
    worker = stack.start("worker", "worker")
    for process in (bot, worker):
        await asyncio.to_thread(process.wait_for_log, "mediabot started", 180)
        assert '"level"' in process.log  # LOG_FORMAT=json, as Compose sets it
    for service in ("bot", "worker"):
        health = await asyncio.to_thread(stack.healthcheck, service, f"{service}-health")
        assert health.returncode == 0, health.stderr
        assert "healthy" in health.stdout

    chat = Conversation(stack.telegram)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    sent = await chat.media(chat.press(keyboard, keyboard.data("360p")), within=120)
    assert sent.method == "sendVideo"


async def test_three_workers_share_the_jobs(stack: Stack, media: MediaSources) -> None:
    _migrate(stack)
    workers = [stack.start("worker", f"worker-{n}") for n in range(3)]
    bot = stack.start("bot", "bot")
    for process in (bot, *workers):
        await asyncio.to_thread(process.wait_for_log, "mediabot started", 180)

    chats = [Conversation(stack.telegram) for _ in range(12)]
    keyboards = await asyncio.gather(
        *(chat.keyboard(chat.say(media.progressive_mp4)) for chat in chats)
    )
    presses = [
        chat.press(keyboard, keyboard.data("360p"))
        for chat, keyboard in zip(chats, keyboards, strict=True)
    ]
    await asyncio.gather(
        *(chat.media(since, within=180) for chat, since in zip(chats, presses, strict=True))
    )
    started = [len(re.findall(r"job [0-9a-f-]+: started", worker.log)) for worker in workers]
    assert sum(started) >= len(chats)
    assert all(count > 0 for count in started), started  # every worker took some


async def test_the_webhook_profile_serves_scaled_bots_behind_caddy(
    stack: Stack, tmp_path: Path
) -> None:
    """`docker compose --profile webhook up -d --scale bot=2`: the `bot` service twice, with
    WEBHOOK_URL from .env, Caddy with the Compose proxy options in front, Telegram posting to
    it: each update is answered once, by either replica; the healthcheck holds."""
    _migrate(stack)
    ports = [free_port(), free_port()]
    caddy = Caddy(tmp_path / "caddy", [f"127.0.0.1:{port}" for port in ports]).start()
    dotenv = {"WEBHOOK_URL": caddy.url("/telegram")}
    try:
        stack.telegram.deliver_to_webhook(cafile=caddy.root_certificate)
        bots = [
            stack.start("bot", f"bot-{n}", listen=f"127.0.0.1:{port}", **dotenv)
            for n, port in enumerate(ports)
        ]
        for bot in bots:
            await asyncio.to_thread(bot.wait_for_log, "webhook server listening", 180)
        chats = [Conversation(stack.telegram) for _ in range(6)]
        marks = [chat.say("/start") for chat in chats]
        await asyncio.gather(
            *(chat.reply(mark, within=60) for chat, mark in zip(chats, marks, strict=True))
        )
        for chat in chats:
            assert len(chat.calls("sendMessage")) == 1
        owners = await _claim_owners(stack.servers["DATABASE_URL"])
        for bot in bots:  # both replicas handled some
            assert any(f"-{bot.pid}-" in owner for owner in owners), owners
        health = await asyncio.to_thread(stack.healthcheck, "bot", "bot-health", **dotenv)
        assert health.returncode == 0, health.stderr
    finally:
        caddy.stop()
        stack.telegram.reset()  # the webhook and its delivery go: later tests poll


async def _claim_owners(database_url: str) -> list[str]:
    """The owners of the update claims: `<host>-<pid>-<tag>/<n>`."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text("SELECT owner FROM updates"))).scalars())
    finally:
        await engine.dispose()
