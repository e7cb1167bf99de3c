"""The in-process job queue of the embedded mode: memory only, RabbitMQ's semantics.

Durability across restarts is not this queue's business: the application re-publishes the
requests the database knows as open when it starts.
"""

from __future__ import annotations

import asyncio
from collections import deque

from mediabot.domain.jobs import InvalidJobError, Job
from mediabot.domain.retry import Backoff
from mediabot.queue.base import DEFER_DELAY_S, Consumption, JobQueue, PublishFailedError


class LocalJobQueue(JobQueue):
    """An asyncio queue of encoded jobs with delayed retries and a bounded dead-letter list.

    Jobs travel encoded, exactly as through RabbitMQ, so a job that does not survive
    `Job.encode`/`Job.decode` fails here too.
    """

    def __init__(
        self,
        *,
        max_attempts: int,
        base_delay_s: float,
        max_delay_s: float = 600.0,
        defer_delay_s: float = DEFER_DELAY_S,
        dead_letter_limit: int = 1000,
    ) -> None:
        super().__init__(max_attempts=max_attempts, backoff=Backoff(base_delay_s, max_delay_s))
        if defer_delay_s < 0:
            raise ValueError("retry delays cannot be negative")
        self._defer_delay_s = defer_delay_s
        self._deliveries: asyncio.Queue[bytes] = asyncio.Queue()
        self._retry_timers: set[asyncio.TimerHandle] = set()
        self._dead_letters: deque[tuple[bytes, str]] = deque(maxlen=dead_letter_limit)
        self._closed = False

    @property
    def dead_letters(self) -> list[tuple[bytes, str]]:
        """The most recent dead-lettered messages with their reasons, oldest first."""
        return list(self._dead_letters)

    @property
    def pending(self) -> int:
        """Jobs waiting to be taken, not counting those waiting for a retry."""
        return self._deliveries.qsize()

    async def connect(self) -> None:
        """Nothing to open: the queue lives in this process."""

    async def publish(self, job: Job) -> None:
        """Queue the job at once; never waits."""
        if self._closed:
            raise PublishFailedError("the in-process queue is closed")
        self._deliveries.put_nowait(job.encode())

    async def close(self) -> None:
        await self.stop(0)
        self._closed = True
        for timer in self._retry_timers:
            timer.cancel()
        self._retry_timers.clear()

    async def _start(self, run: Consumption, concurrency: int) -> None:
        if self._closed:
            raise RuntimeError("the in-process queue is closed")
        run.tasks.update(
            asyncio.create_task(self._work(run), name=f"local-worker-{n}")
            for n in range(concurrency)
        )

    async def _work(self, run: Consumption) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not run.stopping:
            # Idle workers are parked in `get()`; `stop()` cancelling them there loses no job.
            run.waiting.add(me)
            try:
                body = await self._deliveries.get()
            finally:
                run.waiting.discard(me)
            try:
                await self._deliver(run, body)
            except asyncio.CancelledError:
                # Cancelled by stop(): the job goes back for the next consumer, same attempt.
                self._deliveries.put_nowait(body)
                raise

    async def _deliver(self, run: Consumption, body: bytes) -> None:
        try:
            job = Job.decode(body)
        except InvalidJobError as exc:
            await self._malformed(body, exc)
            return
        await self._follow(run, job, body, await self._attempt(run, job))

    async def _defer(self, body: bytes, what: str) -> None:
        del what
        self._schedule_retry(body, self._defer_delay_s)

    async def _retry(self, failed: Job) -> None:
        self._schedule_retry(failed.next_attempt().encode(), self._backoff.delay_s(failed.attempt))

    async def _dead_letter(self, body: bytes, reason: str, what: str) -> None:
        del what  # kept with its reason in `dead_letters`
        self._dead_letters.append((body, reason))

    def _schedule_retry(self, body: bytes, delay_s: float) -> None:
        def release() -> None:
            self._retry_timers.discard(timer)
            self._deliveries.put_nowait(body)

        timer = asyncio.get_running_loop().call_later(delay_s, release)
        self._retry_timers.add(timer)
