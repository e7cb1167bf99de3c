"""The contract every job queue keeps, run against the in-process queue and RabbitMQ."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from mediabot.domain.jobs import Job
from mediabot.queue.base import DeferJobError, JobQueue, RetryJobError
from tests.queue.queue_bench import (
    BASE_DELAY_S,
    DEFER_DELAY_S,
    MAX_ATTEMPTS,
    QueueBench,
    eventually,
)

pytestmark = pytest.mark.integration


class Seen:
    """What the handlers and the dead-letter callback were given."""

    def __init__(self) -> None:
        self.handled: list[Job] = []
        self.finished: list[Job] = []
        self.dead: list[tuple[Job, str]] = []
        self.times: dict[uuid.UUID, list[float]] = {}

    def start(self, job: Job) -> None:
        self.handled.append(job)
        self.times.setdefault(job.request_id, []).append(asyncio.get_running_loop().time())

    async def on_dead_letter(self, job: Job, reason: str) -> None:
        self.dead.append((job, reason))

    def count(self, jobs: list[Job]) -> int:
        ids = {job.request_id for job in jobs}
        return sum(1 for job in self.finished if job.request_id in ids)


def new_jobs(n: int) -> list[Job]:
    return [Job(request_id=uuid.uuid4()) for _ in range(n)]


def start_consuming(
    queue: JobQueue,
    handler: Callable[[Job], Awaitable[None]],
    seen: Seen,
    concurrency: int = 2,
) -> asyncio.Task[None]:
    return asyncio.create_task(queue.consume(handler, seen.on_dead_letter, concurrency))


async def stop(queue: JobQueue, consumer: asyncio.Task[None], grace_s: float = 5.0) -> None:
    await queue.stop(grace_s)
    await asyncio.wait_for(consumer, 5)


async def test_each_published_job_is_handled_once(bench: QueueBench) -> None:
    seen = Seen()
    jobs = new_jobs(5)

    async def handler(job: Job) -> None:
        seen.start(job)
        seen.finished.append(job)

    for job in jobs:
        await bench.queue.publish(job)
    consumer = start_consuming(bench.queue, handler, seen)

    async def all_handled() -> bool:
        return len(seen.finished) >= len(jobs)

    await eventually(all_handled, what="the five jobs")
    await stop(bench.queue, consumer)

    assert Counter(job.request_id for job in seen.handled) == {job.request_id: 1 for job in jobs}
    assert all(job.attempt == 1 for job in seen.handled)
    assert await bench.backlog() == 0
    assert seen.dead == []


async def test_concurrency_is_respected(bench: QueueBench) -> None:
    seen = Seen()
    jobs = new_jobs(7)
    gate = asyncio.Event()
    active = 0
    most = 0

    async def handler(job: Job) -> None:
        nonlocal active, most
        seen.start(job)
        active += 1
        most = max(most, active)
        try:
            await gate.wait()
        finally:
            active -= 1
        seen.finished.append(job)

    for job in jobs:
        await bench.queue.publish(job)
    consumer = start_consuming(bench.queue, handler, seen, concurrency=3)

    async def three_running() -> bool:
        return active == 3

    await eventually(three_running, what="three jobs running")
    # Give a fourth job every chance to start if the limit leaked; none may.
    await asyncio.sleep(0.3)
    assert active == 3
    gate.set()

    async def all_done() -> bool:
        return len(seen.finished) == len(jobs)

    await eventually(all_done, what="all jobs")
    await stop(bench.queue, consumer)
    assert most == 3
    assert len(seen.handled) == len(jobs)


async def test_a_failing_job_is_retried_with_growing_delays_then_succeeds(
    bench: QueueBench,
) -> None:
    seen = Seen()
    [job] = new_jobs(1)

    async def handler(job: Job) -> None:
        seen.start(job)
        if job.attempt < MAX_ATTEMPTS:
            raise RetryJobError(f"flaky {job.attempt}")
        seen.finished.append(job)

    await bench.queue.publish(job)
    consumer = start_consuming(bench.queue, handler, seen)

    async def succeeded() -> bool:
        return len(seen.finished) == 1

    await eventually(succeeded, what="the third attempt")
    await stop(bench.queue, consumer)

    assert [j.attempt for j in seen.handled] == [1, 2, 3]
    first, second, third = seen.times[job.request_id]
    # Lower bounds only: a delay may run long on a busy machine, never short.
    assert second - first >= BASE_DELAY_S * 0.9
    assert third - second >= 2 * BASE_DELAY_S * 0.9
    assert seen.dead == []
    assert await bench.backlog() == 0


async def test_a_job_out_of_attempts_is_dead_lettered_once_with_the_reason(
    bench: QueueBench,
) -> None:
    seen = Seen()
    [job, healthy] = new_jobs(2)

    async def handler(current: Job) -> None:
        seen.start(current)
        if current.request_id == healthy.request_id:
            seen.finished.append(current)
            return
        if current.attempt < MAX_ATTEMPTS:
            raise RetryJobError(f"transient {current.attempt}")
        raise ValueError("still broken")

    await bench.queue.publish(job)
    await bench.queue.publish(healthy)
    consumer = start_consuming(bench.queue, handler, seen)

    async def dead_lettered() -> bool:
        return len(seen.dead) >= 1 and len(await bench.dead_letters()) >= 1

    await eventually(dead_lettered, what="the dead letter")
    await stop(bench.queue, consumer)

    assert seen.dead == [(Job(job.request_id, MAX_ATTEMPTS), "ValueError: still broken")]
    assert [j.attempt for j in seen.handled if j.request_id == job.request_id] == [1, 2, 3]
    [(body, reason)] = await bench.dead_letters()
    assert Job.decode(body).request_id == job.request_id
    assert reason == "ValueError: still broken"
    assert seen.count([healthy]) == 1
    assert await bench.backlog() == 0


async def test_a_deferred_job_comes_back_after_the_delay_without_using_an_attempt(
    bench: QueueBench,
) -> None:
    """Deferring (e.g. the user's turn has not come) is no failure: no attempt, no dead letter,
    and no busy loop: the job is away for the defer delay each time, and its slot is free."""
    seen = Seen()
    deferred, other = new_jobs(2)
    deferrals = MAX_ATTEMPTS + 2

    async def handler(job: Job) -> None:
        seen.start(job)
        if job == other:
            seen.finished.append(job)
            return
        if len(seen.times[job.request_id]) <= deferrals:
            raise DeferJobError("not its turn")
        seen.finished.append(job)

    await bench.queue.publish(deferred)
    await bench.queue.publish(other)
    consumer = start_consuming(bench.queue, handler, seen, concurrency=1)

    async def both_done() -> bool:
        return seen.count([deferred, other]) == 2

    await eventually(both_done, what="the deferred job to run at last")
    await stop(bench.queue, consumer)

    times = seen.times[deferred.request_id]
    assert len(times) == deferrals + 1
    assert all(job.attempt == 1 for job in seen.handled)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= DEFER_DELAY_S * 0.8
    # The other job did not wait for the deferred one's turn.
    assert seen.times[other.request_id][0] < times[1]
    assert seen.dead == []
    assert await bench.dead_letters() == []


async def test_a_malformed_message_is_dead_lettered_without_a_handler(bench: QueueBench) -> None:
    seen = Seen()
    [job] = new_jobs(1)

    async def handler(current: Job) -> None:
        seen.start(current)
        seen.finished.append(current)

    await bench.inject_raw(b"this is not a job")
    await bench.queue.publish(job)
    consumer = start_consuming(bench.queue, handler, seen)

    async def both_settled() -> bool:
        return len(seen.finished) == 1 and len(await bench.dead_letters()) == 1

    await eventually(both_settled, what="the job and the dead letter")
    await stop(bench.queue, consumer)

    assert [j.request_id for j in seen.handled] == [job.request_id]
    [(body, reason)] = await bench.dead_letters()
    assert body == b"this is not a job"
    assert "not a job" in reason
    assert seen.dead == []
    assert await bench.backlog() == 0


async def test_stop_waits_for_the_grace_then_hands_back_what_is_still_running(
    bench: QueueBench,
) -> None:
    seen = Seen()
    [quick, stuck] = new_jobs(2)
    release_quick = asyncio.Event()
    forever = asyncio.Event()
    cancelled: list[Job] = []

    async def first_handler(current: Job) -> None:
        seen.start(current)
        try:
            await (release_quick if current.request_id == quick.request_id else forever).wait()
        except asyncio.CancelledError:
            cancelled.append(current)
            raise
        seen.finished.append(current)

    await bench.queue.publish(quick)
    await bench.queue.publish(stuck)
    consumer = start_consuming(bench.queue, first_handler, seen)

    async def both_running() -> bool:
        return len(seen.handled) == 2

    await eventually(both_running, what="both jobs running")
    stopping = asyncio.create_task(bench.queue.stop(0.5))
    await asyncio.sleep(0)
    release_quick.set()  # finishes within the grace: acknowledged, not handed back
    await asyncio.wait_for(stopping, 5)
    await asyncio.wait_for(consumer, 5)

    assert [j.request_id for j in seen.finished] == [quick.request_id]
    assert [j.request_id for j in cancelled] == [stuck.request_id]

    peer = await bench.make_peer()
    again = Seen()

    async def second_handler(current: Job) -> None:
        again.start(current)
        again.finished.append(current)

    second = start_consuming(peer, second_handler, again)

    async def handed_back() -> bool:
        return len(again.finished) == 1

    await eventually(handed_back, what="the handed-back job")
    await stop(peer, second)
    assert again.handled == [stuck]  # same attempt: being handed back is not a failure
    assert await bench.backlog() == 0


async def test_stop_when_idle_returns_at_once_and_consuming_can_resume(bench: QueueBench) -> None:
    seen = Seen()

    async def handler(current: Job) -> None:
        seen.start(current)
        seen.finished.append(current)

    consumer = start_consuming(bench.queue, handler, seen)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(bench.queue.stop(30), 5)
    await asyncio.wait_for(consumer, 5)

    [job] = new_jobs(1)
    await bench.queue.publish(job)
    consumer = start_consuming(bench.queue, handler, seen)

    async def handled() -> bool:
        return len(seen.finished) == 1

    await eventually(handled, what="the job after resuming")
    await stop(bench.queue, consumer)
    assert seen.handled == [job]


async def test_cancelling_consume_hands_back_the_running_job(bench: QueueBench) -> None:
    seen = Seen()
    [job] = new_jobs(1)
    forever = asyncio.Event()

    async def stuck_handler(current: Job) -> None:
        seen.start(current)
        await forever.wait()

    await bench.queue.publish(job)
    consumer = start_consuming(bench.queue, stuck_handler, seen)

    async def running() -> bool:
        return len(seen.handled) == 1

    await eventually(running, what="the job running")
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(consumer, 5)

    async def back_in_queue() -> bool:
        return await bench.backlog() == 1

    await eventually(back_in_queue, what="the job back in the queue")
