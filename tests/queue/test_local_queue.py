"""What only the in-process queue promises: publishing never waits, closing is final."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mediabot.domain.jobs import Job
from mediabot.queue.base import PublishFailedError
from mediabot.queue.local import LocalJobQueue


async def nothing(job: Job) -> None:
    return None


async def no_dead_letter(job: Job, reason: str) -> None:
    return None


async def test_publish_never_waits_for_a_consumer() -> None:
    queue = LocalJobQueue(max_attempts=3, base_delay_s=0.1)
    await queue.connect()
    for _ in range(10_000):
        # Each publish completes without yielding: no consumer, no bound, no waiting.
        coro = queue.publish(Job(request_id=uuid.uuid4()))
        with pytest.raises(StopIteration):
            coro.send(None)
    assert queue.pending == 10_000
    await queue.close()


async def test_a_closed_queue_refuses_jobs_and_drops_pending_retries() -> None:
    queue = LocalJobQueue(max_attempts=3, base_delay_s=0.05)
    attempts: list[int] = []
    failed = asyncio.Event()

    async def failing(job: Job) -> None:
        attempts.append(job.attempt)
        failed.set()
        raise RuntimeError("down")

    await queue.publish(Job(request_id=uuid.uuid4()))
    consumer = asyncio.create_task(queue.consume(failing, no_dead_letter, 1))
    await asyncio.wait_for(failed.wait(), 5)
    await queue.close()
    await asyncio.wait_for(consumer, 5)
    await asyncio.sleep(0.15)  # past the retry delay: a leaked timer would requeue the job
    assert attempts == [1]
    assert queue.pending == 0
    with pytest.raises(PublishFailedError):
        await queue.publish(Job(request_id=uuid.uuid4()))


async def test_one_consumer_at_a_time() -> None:
    queue = LocalJobQueue(max_attempts=1, base_delay_s=0.1)
    consumer = asyncio.create_task(queue.consume(nothing, no_dead_letter, 1))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already"):
        await queue.consume(nothing, no_dead_letter, 1)
    await queue.stop(1)
    await asyncio.wait_for(consumer, 5)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        LocalJobQueue(max_attempts=0, base_delay_s=1)
