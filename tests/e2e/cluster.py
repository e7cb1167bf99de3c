"""The production layout of the distributed e2e modules: PostgreSQL, RabbitMQ, one bot and
two workers, run with the same commands as the Compose services (`migrate`, `bot`, `worker`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.conversation import Conversation, Keyboard
from tests.support.fake_telegram import FakeTelegram
from tests.support.processes import MediabotProcess, mediabot_env, stop_all

LIMIT_MB = 2
STORAGE = -100_777_000_002
"""The storage chat of inline mode (the cluster's bot answers inline queries)."""


@dataclass
class Cluster:
    bot: MediabotProcess
    workers: list[MediabotProcess]
    vhost: str
    start: Callable[[str, str], MediabotProcess]

    def worker_of(self, request_id: uuid.UUID) -> MediabotProcess | None:
        """The running worker that has started working on this request, if any."""
        for worker in self.workers:
            if worker.running() and f"job {request_id}: started" in worker.log:
                return worker
        return None

    async def started_by(self, request_id: uuid.UUID) -> MediabotProcess:
        """The worker that starts working on this request, once one does."""
        for _ in range(600):
            worker = self.worker_of(request_id)
            if worker is not None:
                return worker
            await asyncio.sleep(0.05)
        raise AssertionError(f"no worker started {request_id}")

    def replenish(self) -> None:
        """Start a worker in place of one the test stopped, for the tests after it."""
        replacement = self.start("worker", f"worker-{uuid.uuid4().hex[:6]}")
        replacement.wait_for_log("mediabot started")
        self.workers.append(replacement)


@contextmanager
def running_cluster(
    telegram: FakeTelegram, root: Path, database_url: str, amqp_url: str
) -> Iterator[Cluster]:
    """Migrate, then two workers and a bot; the ones still running are stopped at the end."""
    base = {
        "DATABASE_URL": database_url.replace("+asyncpg", ""),
        "AMQP_URL": amqp_url,
        "TELEGRAM_UPLOAD_LIMIT_MB": str(LIMIT_MB),
        "JOB_LEASE_S": "4",
        "WORKER_CONCURRENCY": "1",
        "STORAGE_CHAT_ID": str(STORAGE),
    }
    migrate = MediabotProcess(
        "migrate", mediabot_env(telegram, root / "migrate", **base), root / "migrate.log"
    ).start()
    assert migrate.wait() == 0, migrate.log

    def start(command: str, name: str) -> MediabotProcess:
        env = mediabot_env(telegram, root / name, **base)
        return MediabotProcess(command, env, root / f"{name}.log").start()

    workers = [start("worker", f"worker-{n}") for n in range(2)]
    bot = start("bot", "bot")
    for process in (bot, *workers):
        process.wait_for_log("mediabot started")
    yield Cluster(bot, workers, amqp_url.rsplit("/", 1)[1], start)
    stop_all([bot, *workers])


async def ask(chat: Conversation, url: str, button: str) -> tuple[int, uuid.UUID]:
    """Send a link, press a button; the call index to search from and the request id."""
    return press(chat, await chat.keyboard(chat.say(url)), button)


def press(chat: Conversation, keyboard: Keyboard, button: str) -> tuple[int, uuid.UUID]:
    """Press a button of an offer; the call index to search from and the request id. A test
    that slows the media server for the download presses after the offer came at full speed:
    the lookup reads the source too."""
    data = keyboard.data(button)
    return chat.press(keyboard, data), uuid.UUID(hex=data.split(":")[1])
