"""The queue interface the bot publishes to and the workers consume from."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from mediabot.domain.jobs import Job

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


class JobQueue(ABC):
    """Carries jobs from the bot to the workers, at least once, with bounded retries."""

    @abstractmethod
    async def connect(self) -> None:
        """Open connections and declare what is needed; safe to call once at start-up."""

    @abstractmethod
    async def publish(self, job: Job) -> None:
        """Hand a job over: when this returns, the queue holds it.

        For a broker-backed queue the job then survives a broker restart. A job that cannot
        be handed over within the queue's publish timeout raises `PublishFailedError`.
        """

    @abstractmethod
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

    @abstractmethod
    async def stop(self, grace_s: float) -> None:
        """Stop taking jobs; wait up to `grace_s` for running ones, then hand back the rest.

        Handed back means cancelled and returned to the queue unacknowledged, attempt count
        unchanged, so that another consumer takes them. Does nothing when not consuming.
        """

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""


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
