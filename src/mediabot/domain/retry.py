"""The one retry policy: how many tries, and how long to wait after each failed one.

Every retry in mediabot goes through a `Backoff`: the queues' delays before a failed job's
next attempt, RabbitMQ publishes through an outage, the Bot API calls' network errors, the
re-reads of a remote media block, and work held while the database or the broker is briefly
away (`hold_through`). Flood waits are not retries of this kind: Telegram says how long to
wait (`telegram/middlewares.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Doubling waits from `base_delay_s`, capped at `max_delay_s`; at most `max_attempts`
    tries in all (None: as many as the caller's own deadline allows)."""

    base_delay_s: float
    max_delay_s: float
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retry delays cannot be negative")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def delay_s(self, failed_attempt: int) -> float:
        """The wait after attempt `failed_attempt` (1-based) failed: base, 2·base, 4·base, ...

        Capped at `max_delay_s`, so a generous attempt limit never schedules a retry for
        tomorrow.
        """
        if failed_attempt < 1:
            raise ValueError(f"attempts are counted from 1, got {failed_attempt}")
        # The exponent is bounded before the power so a huge attempt number cannot overflow.
        exponent = min(failed_attempt - 1, 62)
        return float(min(self.base_delay_s * 2**exponent, self.max_delay_s))

    def gives_up_after(self, failed_attempt: int) -> bool:
        """True when attempt `failed_attempt` was the last one allowed."""
        return self.max_attempts is not None and failed_attempt >= self.max_attempts


async def hold_through(
    step: Callable[[], Awaitable[T]],
    passing: Callable[[BaseException], bool],
    backoff: Backoff,
    *,
    give_up_at: float | None = None,
    on_hold: Callable[[BaseException, int], Awaitable[None]] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`step()`, run again after each failure `passing` recognises (a service briefly away),
    with `backoff`'s waits in between; any other failure is raised at once.

    The step must be safe to run again from its start. A passing failure is raised once
    `clock()` reaches `give_up_at` (None: never), or once `backoff.max_attempts` tries
    failed. `on_hold(error, failures)` is awaited before each wait.
    """
    failures = 0
    while True:
        try:
            return await step()
        except Exception as exc:
            if not passing(exc):
                raise
            failures += 1
            remaining = None if give_up_at is None else give_up_at - clock()
            if backoff.gives_up_after(failures) or (remaining is not None and remaining <= 0):
                raise
            if on_hold is not None:
                await on_hold(exc, failures)
            delay = backoff.delay_s(failures)
            await sleep(delay if remaining is None else min(delay, remaining))
