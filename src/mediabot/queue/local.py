"""The in-process job queue of the embedded mode: memory only, RabbitMQ's semantics.

Durability across restarts is not this queue's business: the application re-publishes the
requests the database knows as open when it starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from mediabot.domain.jobs import InvalidJobError, Job
from mediabot.domain.retry import Backoff
from mediabot.queue.base import (
    DEFER_DELAY_S,
    DeadLetterHandler,
    DeferJobError,
    JobHandler,
    JobQueue,
    PublishFailedError,
    RetryJobError,
    finish_or_hand_back,
)

logger = logging.getLogger(__name__)


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
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if base_delay_s < 0 or max_delay_s < 0 or defer_delay_s < 0:
            raise ValueError("retry delays cannot be negative")
        self._max_attempts = max_attempts
        self._backoff = Backoff(base_delay_s, max_delay_s)
        self._defer_delay_s = defer_delay_s
        self._deliveries: asyncio.Queue[bytes] = asyncio.Queue()
        self._retry_timers: set[asyncio.TimerHandle] = set()
        self._dead_letters: deque[tuple[bytes, str]] = deque(maxlen=dead_letter_limit)
        self._closed = False
        self._stopping = False
        self._workers: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()
        self._stopped: asyncio.Event | None = None

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

    async def consume(
        self,
        handler: JobHandler,
        on_dead_letter: DeadLetterHandler,
        concurrency: int,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if self._closed:
            raise RuntimeError("the in-process queue is closed")
        if self._stopped is not None:
            raise RuntimeError("this queue is already being consumed")
        self._stopping = False
        self._stopped = stopped = asyncio.Event()
        self._workers = {
            asyncio.create_task(self._work(handler, on_dead_letter), name=f"local-worker-{n}")
            for n in range(concurrency)
        }
        try:
            await stopped.wait()
        except asyncio.CancelledError:
            await self.stop(0)
            raise

    async def stop(self, grace_s: float) -> None:
        stopped = self._stopped
        if stopped is None:
            return
        self._stopping = True
        workers = set(self._workers)
        # Idle workers are parked in `get()`; cancelling them there loses no job.
        for worker in self._idle:
            worker.cancel()
        await finish_or_hand_back(workers - self._idle, grace_s)
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers = set()
        self._stopped = None
        stopped.set()

    async def close(self) -> None:
        await self.stop(0)
        self._closed = True
        for timer in self._retry_timers:
            timer.cancel()
        self._retry_timers.clear()

    async def _work(self, handler: JobHandler, on_dead_letter: DeadLetterHandler) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self._stopping:
            self._idle.add(me)
            try:
                body = await self._deliveries.get()
            finally:
                self._idle.discard(me)
            try:
                await self._deliver(body, handler, on_dead_letter)
            except asyncio.CancelledError:
                # Cancelled by stop(): the job goes back for the next consumer, same attempt.
                self._deliveries.put_nowait(body)
                raise

    async def _deliver(
        self, body: bytes, handler: JobHandler, on_dead_letter: DeadLetterHandler
    ) -> None:
        try:
            job = Job.decode(body)
        except InvalidJobError as exc:
            logger.error("dead-lettering a malformed message: %s", exc)
            self._dead_letters.append((body, str(exc)))
            return
        try:
            await handler(job)
            return
        except DeferJobError as exc:
            logger.debug("job %s deferred (%s)", job.request_id, exc.reason)
            self._schedule_retry(body, self._defer_delay_s)
            return
        except RetryJobError as exc:
            reason = exc.reason
            if exc.job is not None:  # the handler worked on another request than named
                job, body = exc.job, exc.job.encode()
        except Exception as exc:
            logger.exception("job %s attempt %d crashed", job.request_id, job.attempt)
            reason = f"{type(exc).__name__}: {exc}"
        if job.attempt >= self._max_attempts:
            logger.error(
                "job %s failed after %d attempt(s), dead-lettered: %s",
                job.request_id,
                job.attempt,
                reason,
            )
            self._dead_letters.append((body, reason))
            try:
                await on_dead_letter(job, reason)
            except Exception:
                logger.exception("job %s: the dead-letter handler failed", job.request_id)
            return
        delay = self._backoff.delay_s(job.attempt)
        logger.warning(
            "job %s attempt %d failed (%s); retrying in %.1fs",
            job.request_id,
            job.attempt,
            reason,
            delay,
        )
        self._schedule_retry(job.next_attempt().encode(), delay)

    def _schedule_retry(self, body: bytes, delay_s: float) -> None:
        def release() -> None:
            self._retry_timers.discard(timer)
            self._deliveries.put_nowait(body)

        timer = asyncio.get_running_loop().call_later(delay_s, release)
        self._retry_timers.add(timer)
