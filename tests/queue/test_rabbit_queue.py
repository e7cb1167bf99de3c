"""What only the RabbitMQ queue promises: persistence, riding out lost connections and
channels, and a publish that gives up in bounded time."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable

import aio_pika
import pytest

from mediabot.domain.jobs import Job
from mediabot.queue.base import PublishFailedError
from mediabot.queue.rabbit import RabbitJobQueue
from tests.queue.queue_bench import BrokerEnv, RabbitBench, eventually, rabbitmqctl

pytestmark = pytest.mark.integration

LOGGER = "mediabot.queue.rabbit"


async def never_dead(job: Job, reason: str) -> None:
    pytest.fail(f"job {job.request_id} was dead-lettered: {reason}")


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    # Only ours: some of aio-pika's records cannot even be formatted after a connection loss.
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def queue_facts(vhost: str) -> dict[str, list[str]]:
    out = rabbitmqctl(
        "list_queues", "-p", vhost, "--no-table-headers", "name", "durable", "arguments"
    )
    return {line.split("\t")[0]: line.split("\t")[1:] for line in out.splitlines() if line}


async def test_jobs_are_durable_and_outlive_their_publisher(rabbit_bench: RabbitBench) -> None:
    jobs = [Job(request_id=uuid.uuid4()) for _ in range(3)]
    for job in jobs:
        await rabbit_bench.rabbit.publish(job)
    await rabbit_bench.rabbit.close()

    facts = queue_facts(rabbit_bench.vhost)
    name = rabbit_bench.name
    assert facts[name][0] == "true"
    assert facts[f"{name}.dead"][0] == "true"
    retry_queues = {q: f for q, f in facts.items() if q.startswith(f"{name}.retry.")}
    assert sorted(retry_queues) == [f"{name}.retry.200ms", f"{name}.retry.400ms"]
    assert all(f[0] == "true" and "x-message-ttl" in f[1] for f in retry_queues.values())

    async with await aio_pika.connect(rabbit_bench.url) as admin:
        channel = await admin.channel()
        queue = await channel.declare_queue(name, passive=True)
        message = await queue.get()
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        await message.nack(requeue=True)

    # A new process of the same name finds every job the closed one published.
    peer = await rabbit_bench.make_peer()
    handled: list[Job] = []

    async def handler(job: Job) -> None:
        handled.append(job)

    consumer = asyncio.create_task(peer.consume(handler, never_dead, 2))

    async def all_handled() -> bool:
        return len(handled) == len(jobs)

    await eventually(all_handled, what="the three persisted jobs")
    await peer.stop(5)
    await consumer
    assert sorted(j.request_id for j in handled) == sorted(j.request_id for j in jobs)


async def test_a_dropped_connection_mid_run_loses_no_job(
    rabbit_bench: RabbitBench, caplog: pytest.LogCaptureFixture
) -> None:
    queue = rabbit_bench.rabbit
    jobs = [Job(request_id=uuid.uuid4()) for _ in range(40)]
    calls: Counter[uuid.UUID] = Counter()
    handled: set[uuid.UUID] = set()
    in_flight_at_drop: set[uuid.UUID] = set()
    dropped = asyncio.Event()

    async def handler(job: Job) -> None:
        calls[job.request_id] += 1
        if not dropped.is_set():
            # Hold every slot across the drop, so the drop catches jobs mid-handler.
            in_flight_at_drop.add(job.request_id)
            await dropped.wait()
        handled.add(job.request_id)

    caplog.set_level(logging.WARNING, logger=LOGGER)
    consumer = asyncio.create_task(queue.consume(handler, never_dead, 3))
    for job in jobs[:20]:
        await queue.publish(job)

    async def slots_full() -> bool:
        return len(in_flight_at_drop) == 3

    await eventually(slots_full, what="three jobs in flight")
    await asyncio.to_thread(
        rabbitmqctl, "close_all_connections", "-p", rabbit_bench.vhost, "queue test: dropped"
    )
    dropped.set()
    # These publishes meet the dead connection and must wait out the reconnection.
    for job in jobs[20:]:
        await queue.publish(job)

    async def all_handled() -> bool:
        redelivered = all(calls[job_id] >= 2 for job_id in in_flight_at_drop)
        return redelivered and handled >= {job.request_id for job in jobs}

    await eventually(all_handled, timeout_s=30, what="all 40 jobs and the redelivered ones")
    await queue.stop(5)
    await consumer
    assert await rabbit_bench.backlog() == 0
    assert len(in_flight_at_drop) == 3
    # The jobs in flight finished on a dead channel: their acks were dropped, and the
    # broker's copies were handled again.
    assert sum("ack not sent" in message for message in our_warnings(caplog)) >= 3


async def test_a_job_outliving_the_consumer_timeout_still_completes(
    rabbit_bench: RabbitBench, broker_env: BrokerEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker closes a channel whose delivery stays unacknowledged past
    `consumer_timeout` and redelivers it. The running handler must go on to the end, its
    late ack must be dropped without harm, and the copy must reach a handler again (the
    application's handler then sees the lease of the live worker and skips it).

    RabbitMQ 3.10 reads `consumer_timeout` when a channel opens and checks it on every
    channel tick (`channel_tick_interval`, 60 s by default, re-read at each tick): both are
    lowered only while the consuming channel opens and until the timeout has fired.
    """
    queue = rabbit_bench.rabbit
    [job] = [Job(request_id=uuid.uuid4())]
    copy_arrived = asyncio.Event()
    calls: list[Job] = []
    completed: list[Job] = []

    async def handler(current: Job) -> None:
        calls.append(current)
        if len(calls) == 1:
            # The consuming channel holds its short timeout; later channels get the usual one.
            await asyncio.to_thread(broker_env.restore, "consumer_timeout")
            await asyncio.wait_for(copy_arrived.wait(), 30)
        else:
            copy_arrived.set()
        completed.append(current)

    await asyncio.to_thread(broker_env.set, "channel_tick_interval", 200)
    await asyncio.to_thread(broker_env.set, "consumer_timeout", 2000)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    consumer = asyncio.create_task(queue.consume(handler, never_dead, 2))
    await queue.publish(job)

    async def both_completed() -> bool:
        return len(completed) == 2

    await eventually(both_completed, timeout_s=30, what="the long job and its redelivered copy")
    await asyncio.to_thread(broker_env.restore, "channel_tick_interval")
    await queue.stop(5)
    await consumer

    assert calls == [job, job]
    assert completed == [job, job]  # the long handler was not cancelled with its channel
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == LOGGER]
    assert await rabbit_bench.backlog() == 0


async def test_an_ack_on_a_closed_channel_is_logged_not_raised(
    rabbit_bench: RabbitBench, caplog: pytest.LogCaptureFixture
) -> None:
    """The late ack of a long job: whether the client already knows its channel is closed
    (then it is refused and logged here) or not (then the broker discards it), no harm."""
    await rabbit_bench.rabbit.publish(Job(request_id=uuid.uuid4()))
    async with await aio_pika.connect(rabbit_bench.url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(rabbit_bench.name, passive=True)
        message = await queue.get()
        await channel.close()  # the broker requeues the delivery
        caplog.set_level(logging.WARNING, logger=LOGGER)
        await RabbitJobQueue._settle(message, "a late job", ack=True)
    assert any("a late job: ack not sent, its channel is gone" in m for m in our_warnings(caplog))
    assert await rabbit_bench.backlog() == 1


async def test_publish_gives_up_after_its_timeout_when_the_broker_is_gone(
    rabbit_bench: RabbitBench,
) -> None:
    queue = RabbitJobQueue(
        rabbit_bench.url,
        queue_name=rabbit_bench.name,
        publish_timeout_s=1.5,
        reconnect_interval_s=0.3,
    )
    await queue.connect()
    try:
        # Deleting the virtual host closes the connection and refuses every reconnection.
        await asyncio.to_thread(rabbitmqctl, "delete_vhost", rabbit_bench.vhost)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(PublishFailedError):
            await queue.publish(Job(request_id=uuid.uuid4()))
        elapsed = loop.time() - started
        assert 1.0 <= elapsed < 5.0
    finally:
        await queue.close()


async def test_a_job_with_an_expiry_is_dropped_when_nobody_takes_it_in_time(
    make_amqp_vhost: Callable[[], str],
) -> None:
    """A lane of jobs that lose their worth (lookups) drops those that waited too long;
    a job taken in time is worked on."""
    url = make_amqp_vhost()
    name = f"expiring-{uuid.uuid4().hex[:8]}"
    queue = RabbitJobQueue(url, queue_name=name, base_delay_s=0.2, expiry_s=0.2)
    await queue.connect()
    try:
        await queue.publish(Job(request_id=uuid.uuid4()))
        async with await aio_pika.connect(url) as admin:
            channel = await admin.channel()

            async def expired() -> bool:
                declared = await channel.declare_queue(name, passive=True)
                return declared.declaration_result.message_count == 0

            await eventually(expired, what="the unconsumed job to expire")
        fresh = Job(request_id=uuid.uuid4())
        await queue.publish(fresh)
        seen: list[Job] = []
        done = asyncio.Event()

        async def handle(job: Job) -> None:
            seen.append(job)
            done.set()

        consuming = asyncio.create_task(queue.consume(handle, never_dead, 1))
        await asyncio.wait_for(done.wait(), 10)
        await queue.stop(1)
        await consuming
        assert seen == [fresh]
    finally:
        await queue.close()
