"""The queue interface the bot publishes to and the workers consume from."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mediabot.domain.jobs import Job
from mediabot.domain.retry import Backoff

logger = logging.getLogger(__name__)

DEFER_DELAY_S = 3.0
"""How long a deferred job waits before it is delivered again: short, yet no busy loop."""


class RetryJobError(Exception):
    """Raised by a job handler when the job failed for a passing reason and may be retried.

    `job`: the job to retry instead of the one delivered, when the handler worked on another
    request than the one named (fair turns: the worker took the fairest request).
    """

    def __init__(self, reason: str, *, job: Job | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.job = job


class DeferJobError(Exception):
    """Raised by a job handler when the job cannot run yet (e.g. its user's turn has not come).

    The job goes back to the queue and is delivered again after the queue's defer delay,
    with its attempt count unchanged: a deferral is not a failure and never dead-letters.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PublishFailedError(Exception):
    """The queue could not take a job within its publish timeout (e.g. the broker is down)."""


JobHandler = Callable[[Job], Awaitable[None]]
"""Works on one job. Returning means the outcome is recorded: the job is acknowledged.
Raising `RetryJobError` (or any other exception) asks for a later retry, which counts as
an attempt; raising `DeferJobError` brings the same attempt back after a short delay."""

DeadLetterHandler = Callable[[Job, str], Awaitable[None]]
"""Told about a job that ran out of attempts, with the last reason, so the user hears of it."""


Outcome = RetryJobError | DeferJobError | None
"""What a handler's run on a job asks for: a retry, a deferral, or nothing more."""


@dataclass(eq=False)
class Consumption:
    """The state of one `consume()` call, from its start to its `stop()`."""

    handler: JobHandler
    on_dead_letter: DeadLetterHandler
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    """The tasks that run jobs or wait for one."""
    waiting: set[asyncio.Task[None]] = field(default_factory=set)
    """Those of `tasks` that hold no started job: `stop()` cancels them at once."""


class JobQueue(ABC):
    """Carries jobs from the bot to the workers, at least once, with bounded retries.

    This class runs a consumption (`consume`, `stop`) and decides what a handler's outcome
    does to its job; a subclass carries the jobs (`_start`, `_retry`, `_dead_letter`).
    Its log records are the subclass's module's.
    """

    def __init__(self, *, max_attempts: int, backoff: Backoff) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._consumption: Consumption | None = None
        self._logger = logging.getLogger(type(self).__module__)

    @abstractmethod
    async def connect(self) -> None:
        """Open connections and declare what is needed; safe to call once at start-up."""

    @abstractmethod
    async def publish(self, job: Job) -> None:
        """Hand a job over: when this returns, the queue holds it.

        For a broker-backed queue the job then survives a broker restart. A job that cannot
        be handed over within the queue's publish timeout raises `PublishFailedError`.
        """

    async def consume(
        self,
        handler: JobHandler,
        on_dead_letter: DeadLetterHandler,
        concurrency: int,
    ) -> None:
        """Run `handler` on jobs, at most `concurrency` at once; return once `stop()` has run.

        A job is acknowledged only after `handler` returned. A job whose handler raised
        `DeferJobError` comes back after the defer delay, same attempt, any number of times.
        A job whose handler raised otherwise is
        retried with growing delays up to the queue's attempt limit, then dead-lettered and
        passed to `on_dead_letter` (an exception there is logged, the job still leaves the
        queue). A message that is not a job is dead-lettered without calling anything.
        Delivery is at least once: a job may reach a handler again after a lost connection,
        so handlers must be idempotent. Cancelling this call behaves like `stop(0)`.
        After it returned, `consume()` may be called again.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if self._consumption is not None:
            raise RuntimeError("this queue is already being consumed")
        run = self._consumption = Consumption(handler, on_dead_letter)
        try:
            await self._start(run, concurrency)
            await run.stopped.wait()
        except BaseException:
            await self.stop(0)
            raise

    async def stop(self, grace_s: float) -> None:
        """Stop taking jobs; wait up to `grace_s` for running ones, then hand back the rest.

        Handed back means cancelled and returned to the queue unacknowledged, attempt count
        unchanged, so that another consumer takes them. Does nothing when not consuming.
        """
        run = self._consumption
        if run is None:
            return
        if run.stopping:
            await run.stopped.wait()
            return
        run.stopping = True
        await self._stop_taking(run)
        for task in run.waiting:
            task.cancel()
        tasks = set(run.tasks)
        await finish_or_hand_back(tasks - run.waiting, grace_s)
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._stopped(run)
        self._consumption = None
        run.stopped.set()

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abstractmethod
    async def _start(self, run: Consumption, concurrency: int) -> None:
        """Start taking jobs for `run` (its tasks in `run.tasks`), `concurrency` at once."""

    async def _stop_taking(self, run: Consumption) -> None:
        """Take no more jobs for `run` (its running ones go on); by default, cancelling
        `run.waiting` is enough."""
        del run

    async def _stopped(self, run: Consumption) -> None:
        """Release what `run` held, now that none of its tasks runs; by default, nothing."""
        del run

    @abstractmethod
    async def _defer(self, body: bytes, what: str) -> None:
        """Bring a deferred job back, same attempt, after the queue's defer delay."""

    @abstractmethod
    async def _retry(self, failed: Job) -> None:
        """Bring `failed` back as its next attempt after the delay its attempt calls for."""

    @abstractmethod
    async def _dead_letter(self, body: bytes, reason: str, what: str) -> None:
        """Keep a message (`what` it is, for the logs) that will not be delivered again."""

    async def _attempt(self, run: Consumption, job: Job) -> Outcome:
        """Run the handler on `job`: None when it returned, else the deferral, or the
        failure with its reason (a crash logged with its traceback)."""
        try:
            await run.handler(job)
        except DeferJobError as exc:
            self._logger.debug("job %s deferred (%s)", job.request_id, exc.reason)
            return exc
        except RetryJobError as exc:
            return exc
        except Exception as exc:
            self._logger.exception("job %s attempt %d crashed", job.request_id, job.attempt)
            return RetryJobError(f"{type(exc).__name__}: {exc}")
        return None

    async def _follow(self, run: Consumption, job: Job, body: bytes, outcome: Outcome) -> None:
        """Do what the handler's outcome for `job` (delivered as `body`) asks: bring a
        deferred job back as it is, retry or dead-letter a failed one."""
        if isinstance(outcome, DeferJobError):
            await self._defer(body, f"job {job.request_id}")
        elif isinstance(outcome, RetryJobError):
            await self._after_failure(run, outcome.job or job, outcome.reason)

    async def _after_failure(self, run: Consumption, job: Job, reason: str) -> None:
        """Retry a failed job after its delay, or, once out of attempts, tell
        `run.on_dead_letter` and dead-letter it."""
        what = f"job {job.request_id}"
        if job.attempt < self._max_attempts:
            self._logger.warning(
                "%s attempt %d failed (%s); retrying in %.1fs",
                what,
                job.attempt,
                reason,
                self._backoff.delay_s(job.attempt),
            )
            await self._retry(job)
            return
        self._logger.error(
            "%s failed after %d attempt(s), dead-lettered: %s", what, job.attempt, reason
        )
        try:
            await run.on_dead_letter(job, reason)
        except Exception:
            self._logger.exception("%s: the dead-letter handler failed", what)
        await self._dead_letter(job.encode(), reason, what)

    async def _malformed(self, body: bytes, error: Exception) -> None:
        """Dead-letter a message that is not a job."""
        self._logger.error("dead-lettering a malformed message: %s", error)
        await self._dead_letter(body, str(error), "a malformed message")


async def finish_or_hand_back(running: set[asyncio.Task[None]], grace_s: float) -> None:
    """Let running jobs finish within `grace_s`; cancel the rest, so their jobs go back."""
    if not running:
        return
    logger.info("waiting up to %.1fs for %d running job(s)", grace_s, len(running))
    _, late = await asyncio.wait(running, timeout=grace_s)
    for task in late:
        task.cancel()
    if late:
        logger.warning("handing back %d job(s) still running after the grace", len(late))
