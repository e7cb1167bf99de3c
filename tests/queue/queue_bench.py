"""Benches for the job queues: one contract, run against the in-process queue and RabbitMQ.

A `QueueBench` wraps a connected queue with what the contract needs to observe it from
outside: a peer consumer of the same jobs, a way to slip in a raw message, the waiting
backlog and the dead letters.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

import aio_pika
import pytest

from mediabot.queue.base import JobQueue
from mediabot.queue.local import LocalJobQueue
from mediabot.queue.rabbit import REASON_HEADER, RabbitJobQueue

MAX_ATTEMPTS = 3
BASE_DELAY_S = 0.2
DEFER_DELAY_S = 0.3


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, what: str
) -> None:
    """Poll `check` until it holds; fail with `what` after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


class QueueBench(ABC):
    """A queue under test and the means to look at it from outside."""

    queue: JobQueue

    @abstractmethod
    async def make_peer(self) -> JobQueue:
        """Another consumer of the same jobs (for the in-process queue: the same queue)."""

    @abstractmethod
    async def inject_raw(self, body: bytes) -> None:
        """Put a message on the work queue that did not come from `publish`."""

    @abstractmethod
    async def backlog(self) -> int:
        """Messages waiting in the work queue (not counting delayed retries)."""

    @abstractmethod
    async def dead_letters(self) -> list[tuple[bytes, str]]:
        """The dead-lettered messages and their reasons, oldest first."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close everything the bench opened."""


class LocalBench(QueueBench):
    def __init__(self) -> None:
        self.local = LocalJobQueue(
            max_attempts=MAX_ATTEMPTS, base_delay_s=BASE_DELAY_S, defer_delay_s=DEFER_DELAY_S
        )
        self.queue = self.local

    async def make_peer(self) -> JobQueue:
        return self.local

    async def inject_raw(self, body: bytes) -> None:
        self.local._deliveries.put_nowait(body)

    async def backlog(self) -> int:
        return self.local.pending

    async def dead_letters(self) -> list[tuple[bytes, str]]:
        return self.local.dead_letters

    async def aclose(self) -> None:
        await self.local.close()


class RabbitBench(QueueBench):
    def __init__(self, url: str, *, reconnect_interval_s: float = 0.3) -> None:
        self.url = url
        self.vhost = unquote(url.rsplit("/", 1)[1])
        self.name = f"test.{uuid.uuid4().hex[:10]}"
        self._reconnect_interval_s = reconnect_interval_s
        self.rabbit = self._make_queue()
        self.queue = self.rabbit
        self._peers: list[RabbitJobQueue] = []
        self._admin: aio_pika.abc.AbstractConnection | None = None

    def _make_queue(self) -> RabbitJobQueue:
        return RabbitJobQueue(
            self.url,
            queue_name=self.name,
            max_attempts=MAX_ATTEMPTS,
            base_delay_s=BASE_DELAY_S,
            defer_delay_s=DEFER_DELAY_S,
            publish_timeout_s=20.0,
            reconnect_interval_s=self._reconnect_interval_s,
        )

    async def make_peer(self) -> JobQueue:
        peer = self._make_queue()
        await peer.connect()
        self._peers.append(peer)
        return peer

    async def _admin_channel(self) -> aio_pika.abc.AbstractChannel:
        # A plain connection of the bench's own, so observing never disturbs the queue.
        if self._admin is None or self._admin.is_closed:
            self._admin = await aio_pika.connect(self.url)
        return await self._admin.channel()

    async def inject_raw(self, body: bytes) -> None:
        channel = await self._admin_channel()
        await channel.default_exchange.publish(aio_pika.Message(body), self.name)
        await channel.close()

    async def backlog(self) -> int:
        channel = await self._admin_channel()
        declared = await channel.declare_queue(self.name, passive=True)
        await channel.close()
        count = declared.declaration_result.message_count
        assert count is not None
        return count

    async def dead_letters(self) -> list[tuple[bytes, str]]:
        """Reads the DLQ without consuming it: every message is requeued after being read."""
        channel = await self._admin_channel()
        queue = await channel.declare_queue(f"{self.name}.dead", passive=True)
        seen: list[aio_pika.abc.AbstractIncomingMessage] = []
        while (message := await queue.get(fail=False)) is not None:
            seen.append(message)
        letters = [(m.body, str((m.headers or {}).get(REASON_HEADER, ""))) for m in seen]
        await channel.close()  # returns the unacknowledged messages to the DLQ
        return letters

    async def aclose(self) -> None:
        for queue in [self.rabbit, *self._peers]:
            await queue.close()
        if self._admin is not None:
            await self._admin.close()


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


class BrokerEnv:
    """Changes the broker's `rabbit` application settings; `restore()` puts them back."""

    def __init__(self) -> None:
        self._saved: dict[str, str] = {}

    def set(self, key: str, value: int) -> None:
        if key not in self._saved:
            self._saved[key] = rabbitmqctl("eval", f"application:get_env(rabbit, {key}).")
        rabbitmqctl("eval", f"application:set_env(rabbit, {key}, {value}).")

    def restore(self, key: str) -> None:
        saved = self._saved.pop(key, None)
        if saved is None:
            return
        if saved.startswith("{ok,") and saved.endswith("}"):
            value = saved[len("{ok,") : -1]
            rabbitmqctl("eval", f"application:set_env(rabbit, {key}, {value}).")
        else:
            rabbitmqctl("eval", f"application:unset_env(rabbit, {key}).")

    def restore_all(self) -> None:
        for key in list(self._saved):
            self.restore(key)
