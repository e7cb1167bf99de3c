"""The RabbitMQ job queue (aio-pika): durable, confirmed, retried through delay queues.

Topology, all on the default exchange:

- `<name>`: the durable work queue; messages are persistent and published with confirms.
- `<name>.retry.<ms>ms`: one delay queue per retry delay. A failed job is published there
  with its attempt count raised; the queue's `x-message-ttl` holds it for the delay, then
  dead-letters it back into `<name>`. Each queue has one fixed TTL, so a long delay never
  blocks a short one queued behind it. The delay is in the name so that workers configured
  with other delays declare other queues instead of failing on mismatched arguments.
- `<name>.defer.<ms>ms`: the same kind of delay queue for deferred jobs (a handler raised
  `DeferJobError`): they come back after the defer delay with their attempt unchanged.
- With `expiry_s`, a job published waits at most that long for a consumer (the message's
  own expiration): a lane whose jobs lose their worth (a lookup nobody waits for any more)
  drops them rather than work through a backlog of them after an outage.
- `<name>.dead`: jobs that ran out of attempts and messages that are not jobs, with the
  reason in the `x-mediabot-reason` header.

A job is acknowledged only after its handler returned. A consumer of concurrency N opens N
channels of prefetch one, so that the broker's `consumer_timeout` (which closes the whole
channel of a delivery held too long, requeueing all its deliveries) hits only the long job.
Handlers run in tasks of their own, not in aio-pika's consumer tasks, because those die
with their channel: when the broker closes a channel (a lost connection, or the consumer
timeout), the handler keeps running, its late acknowledgement is logged and dropped, and
the broker's redelivered copy reaches a handler again. A semaphore keeps the handlers still
running for a lost channel within the concurrency.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError

from mediabot.domain.jobs import InvalidJobError, Job
from mediabot.domain.retry import Backoff
from mediabot.queue.base import DEFER_DELAY_S, Consumption, JobQueue, PublishFailedError

logger = logging.getLogger(__name__)

_PUBLISH_BACKOFF = Backoff(base_delay_s=0.1, max_delay_s=2.0)
"""Pauses between publishes through a broker outage, until the publish timeout."""

REASON_HEADER = "x-mediabot-reason"
"""The header of a dead-lettered message that says why it was dead-lettered."""

# What a broken connection or channel raises: aiormq's errors, socket errors and timeouts
# (OSError), and ChannelInvalidStateError (a RuntimeError) for a channel already closed.
_BROKER_ERRORS = (AMQPError, ConnectionError, OSError, RuntimeError)
_BROKER_CALL_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class _Lane:
    """One consuming channel with a prefetch of one: a slot of the worker's concurrency."""

    channel: AbstractChannel
    queue: AbstractQueue
    consumer_tag: str


class RabbitJobQueue(JobQueue):
    """Jobs through RabbitMQ: at least once, bounded retries with growing delays, a DLQ."""

    def __init__(
        self,
        url: str,
        *,
        queue_name: str = "mediabot.jobs",
        max_attempts: int = 5,
        base_delay_s: float = 10.0,
        max_delay_s: float = 600.0,
        defer_delay_s: float = DEFER_DELAY_S,
        publish_timeout_s: float = 30.0,
        reconnect_interval_s: float = 1.0,
        expiry_s: float | None = None,
    ) -> None:
        """`expiry_s`: how long a published job may wait for a consumer before the broker
        drops it (None: for ever); retries and deferrals are not cut short by it.
        `publish_timeout_s`: how long a publish is retried before `PublishFailedError`."""
        super().__init__(max_attempts=max_attempts, backoff=Backoff(base_delay_s, max_delay_s))
        if base_delay_s <= 0 or max_delay_s <= 0 or defer_delay_s <= 0:
            raise ValueError("retry delays must be positive")
        self._url = url
        self._queue_name = queue_name
        self._defer_delay_ms = max(1, round(defer_delay_s * 1000))
        self._publish_timeout_s = publish_timeout_s
        self._reconnect_interval_s = reconnect_interval_s
        self._expiry_ms = None if expiry_s is None else max(1, round(expiry_s * 1000))
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._lanes: list[_Lane] = []
        self._slots = asyncio.Semaphore()

    @property
    def queue_name(self) -> str:
        return self._queue_name

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self._queue_name}.dead"

    @property
    def defer_queue_name(self) -> str:
        """The delay queue deferred jobs wait in before they come back."""
        return f"{self._queue_name}.defer.{self._defer_delay_ms}ms"

    def retry_queue_name(self, failed_attempt: int) -> str:
        """The delay queue a job goes through after attempt `failed_attempt` failed."""
        delay_s = self._backoff.delay_s(failed_attempt)
        return f"{self._queue_name}.retry.{round(delay_s * 1000)}ms"

    async def connect(self) -> None:
        """Connect (reconnecting on its own from then on) and declare the topology.

        Raises the connection error when the broker does not answer at start-up.
        """
        if self._connection is not None:
            return
        connection = await aio_pika.connect_robust(
            self._url,
            reconnect_interval=self._reconnect_interval_s,
            client_properties={"connection_name": f"mediabot {self._queue_name}"},
        )
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            await channel.declare_queue(self._queue_name, durable=True)
            await channel.declare_queue(self.dead_letter_queue_name, durable=True)
            delay_queues = {**self._retry_queues(), self.defer_queue_name: self._defer_delay_ms}
            for name, delay_ms in delay_queues.items():
                await channel.declare_queue(
                    name,
                    durable=True,
                    arguments={
                        "x-message-ttl": delay_ms,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": self._queue_name,
                    },
                )
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._publish_channel = channel
        logger.info("connected to RabbitMQ, queue %s", self._queue_name)

    async def publish(self, job: Job) -> None:
        """Publish persistently and wait for the broker's confirm, retrying through outages.

        Raises `PublishFailedError` when no confirm came within the publish timeout. A lost
        confirm may mean the broker has the job anyway: a retried publish can duplicate it.
        """
        await self._publish(
            self._queue_name, job.encode(), f"job {job.request_id}", expiry_ms=self._expiry_ms
        )

    async def close(self) -> None:
        await self.stop(0)
        connection, self._connection = self._connection, None
        self._publish_channel = None
        if connection is not None:
            await connection.close()

    async def _start(self, run: Consumption, concurrency: int) -> None:
        connection = self._require_connection()
        self._lanes = []
        # Handlers still running for a lost channel count against the concurrency too.
        self._slots = asyncio.Semaphore(concurrency)

        async def on_message(message: AbstractIncomingMessage) -> None:
            self._on_message(run, message)

        # One channel per slot, prefetch one, apart from the publishing channel: the broker
        # closes a channel whose delivery outlived the consumer timeout, and requeues every
        # delivery of that channel. So a long job takes down only its own lane, not the
        # jobs running beside it nor the publishing.
        for _ in range(concurrency):
            channel = await connection.channel(publisher_confirms=False)
            await channel.set_qos(prefetch_count=1)
            queue = await channel.declare_queue(self._queue_name, durable=True)
            tag = await queue.consume(on_message)
            self._lanes.append(_Lane(channel, queue, tag))
        logger.info("consuming %s, concurrency %d", self._queue_name, concurrency)

    async def _stop_taking(self, run: Consumption) -> None:
        for lane in self._lanes:
            try:
                # Bounded: during an outage the robust channel would wait for the broker.
                async with asyncio.timeout(_BROKER_CALL_TIMEOUT_S):
                    await lane.queue.cancel(lane.consumer_tag)
            except _BROKER_ERRORS as exc:
                logger.warning("could not cancel a consumer (%r); closing its channel", exc)

    async def _stopped(self, run: Consumption) -> None:
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            try:
                # Closing the channel also returns any delivery not yet seen by a task.
                async with asyncio.timeout(_BROKER_CALL_TIMEOUT_S):
                    await lane.channel.close()
            except _BROKER_ERRORS as exc:
                logger.warning("could not close a consumer channel: %r", exc)
        logger.info("stopped consuming %s", self._queue_name)

    async def _defer(self, body: bytes, what: str) -> None:
        await self._publish(self.defer_queue_name, body, what)

    async def _retry(self, failed: Job) -> None:
        await self._publish(
            self.retry_queue_name(failed.attempt),
            failed.next_attempt().encode(),
            f"job {failed.request_id}",
        )

    async def _dead_letter(self, body: bytes, reason: str, what: str) -> None:
        await self._publish(self.dead_letter_queue_name, body, what, {REASON_HEADER: reason})

    def _require_connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("RabbitJobQueue.connect() was not called")
        return self._connection

    def _retry_queues(self) -> dict[str, int]:
        """Delay queue names and their TTLs in ms, one per distinct retry delay."""
        queues: dict[str, int] = {}
        for failed_attempt in range(1, self._max_attempts):
            delay_s = self._backoff.delay_s(failed_attempt)
            queues[self.retry_queue_name(failed_attempt)] = round(delay_s * 1000)
        return queues

    async def _publish(
        self,
        routing_key: str,
        body: bytes,
        what: str,
        headers: dict[str, Any] | None = None,
        *,
        expiry_ms: int | None = None,
    ) -> None:
        channel = self._publish_channel
        if channel is None:
            raise RuntimeError("RabbitJobQueue.connect() was not called")
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            headers=headers,
            expiration=None if expiry_ms is None else expiry_ms / 1000,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout_s
        failures = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await channel.default_exchange.publish(message, routing_key)
                return
            except _BROKER_ERRORS as exc:
                remaining_s = deadline - loop.time()
                if remaining_s <= 0:
                    failed = PublishFailedError(
                        f"RabbitMQ did not take {what} within {self._publish_timeout_s:g}s"
                    )
                    logger.warning("%s; the publish fails", failed)
                    raise failed from exc
                logger.warning("%s: publish to %s failed (%r); retrying", what, routing_key, exc)
            failures += 1
            await asyncio.sleep(min(_PUBLISH_BACKOFF.delay_s(failures), remaining_s))

    def _on_message(self, run: Consumption, message: AbstractIncomingMessage) -> None:
        task = asyncio.create_task(self._deliver(run, message))
        run.tasks.add(task)
        run.waiting.add(task)
        task.add_done_callback(run.tasks.discard)
        task.add_done_callback(run.waiting.discard)

    async def _deliver(self, run: Consumption, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            if run.stopping:
                raise asyncio.CancelledError
            try:
                job = Job.decode(message.body)
            except InvalidJobError as exc:
                run.waiting.discard(task)
                await self._malformed(message.body, exc)
                await self._settle(message, "a malformed message", ack=True)
                return
            async with self._slots:
                run.waiting.discard(task)
                outcome = await self._attempt(run, job)
            await self._follow(run, job, message.body, outcome)
            await self._settle(message, f"job {job.request_id}", ack=True)
        except asyncio.CancelledError:
            # Stopped: give the delivery back unacknowledged, same attempt, for another worker.
            await self._settle(message, "a handed-back delivery", ack=False)
            raise
        except PublishFailedError as exc:
            logger.error("%s; the delivery goes back to the queue", exc)
            await self._settle(message, "a delivery that could not be rerouted", ack=False)

    @staticmethod
    async def _settle(message: AbstractIncomingMessage, what: str, *, ack: bool) -> None:
        """Ack, or nack with requeue; on a channel that is gone, log and carry on.

        The broker has already requeued the deliveries of a closed channel, so the copy
        reaches a handler again, which is why handlers must be idempotent.
        """
        try:
            if ack:
                await message.ack()
            else:
                await message.nack(requeue=True)
        except _BROKER_ERRORS as exc:
            logger.warning(
                "%s: %s not sent, its channel is gone (the broker redelivers it): %r",
                what,
                "ack" if ack else "nack",
                exc,
            )
