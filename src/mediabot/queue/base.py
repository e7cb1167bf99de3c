"""The queue interface the bot publishes to and the workers consume from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from mediabot.domain.jobs import Job


class RetryJobError(Exception):
    """Raised by a job handler when the job failed for a passing reason and may be retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


JobHandler = Callable[[Job], Awaitable[None]]
"""Works on one job. Returning means the outcome is recorded: the job is acknowledged.
Raising `RetryJobError` (or any other exception) asks for a later retry."""

DeadLetterHandler = Callable[[Job, str], Awaitable[None]]
"""Told about a job that ran out of attempts, with the last reason, so the user hears of it."""


class JobQueue(ABC):
    """Carries jobs from the bot to the workers, at least once, with bounded retries."""

    @abstractmethod
    async def connect(self) -> None:
        """Open connections and declare what is needed; safe to call once at start-up."""

    @abstractmethod
    async def publish(self, job: Job) -> None:
        """Hand a job over durably: when this returns, the job survives a restart."""

    @abstractmethod
    async def consume(
        self,
        handler: JobHandler,
        on_dead_letter: DeadLetterHandler,
        concurrency: int,
    ) -> None:
        """Run `handler` on jobs, at most `concurrency` at once, until `stop()` is called.

        A job that fails is retried with growing delays up to the queue's attempt limit,
        then dead-lettered and passed to `on_dead_letter`.
        """

    @abstractmethod
    async def stop(self, grace_s: float) -> None:
        """Stop taking jobs; wait up to `grace_s` for running ones, then hand back the rest."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
