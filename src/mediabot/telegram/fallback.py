"""The shared Telegram budget, with a budget of this process's own while it does not answer.

Every process of a bot draws from one budget kept in PostgreSQL (`mediabot.db.budget`).
While the database is away (a restart, a failover), messages must still go out: the line
that tells a user their update is held, a worker's file finished meanwhile. So a step the
shared budget fails (or does not answer within `SHARED_TIMEOUT_S`) is taken from a budget in
this process's memory at a share of the rates (`LOCAL_SHARE`, `LOCAL_CHAT_SHARE`): no
process knows how many others draw at the same time, and together they must stay under
Telegram's limits. The shared budget is asked again every `RETRY_SHARED_S` and used again as
soon as it answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mediabot.telegram.budget import Budget, Clock, Limits, MemoryBudget, Rate, Slot

logger = logging.getLogger(__name__)

T = TypeVar("T")

_WARN_EVERY_S = 60.0

LOCAL_SHARE = 0.25
"""Of the bot-wide rate, what one process sends on its own budget: four processes at
once stay under the bot's limit."""
LOCAL_CHAT_SHARE = 0.5
"""Of a chat's rate (a chat's messages mostly come from one or two processes: the bot's
answers, the worker that delivers to it)."""
RETRY_SHARED_S = 1.0
SHARED_TIMEOUT_S = 5.0
"""A step of the shared budget is one short statement; one that has not answered in this
long (a database that does not even refuse connections) counts as failed."""


def local_limits(shared: Limits) -> Limits:
    """The limits of one process's own budget while the shared one is away."""

    def share(rate: Rate, part: float) -> Rate:
        return Rate(per_second=rate.per_second * part, burst=rate.burst)

    return Limits(
        overall=share(shared.overall, LOCAL_SHARE),
        per_chat=share(shared.per_chat, LOCAL_CHAT_SHARE),
        per_group=share(shared.per_group, LOCAL_CHAT_SHARE),
    )


class FallbackBudget:
    """A `Budget`: `shared` while it answers, a `MemoryBudget` at `local_limits` meanwhile."""

    def __init__(
        self,
        shared: Budget,
        *,
        retry_shared_s: float = RETRY_SHARED_S,
        shared_timeout_s: float = SHARED_TIMEOUT_S,
        clock: Clock = time.monotonic,
    ) -> None:
        self._shared = shared
        self._local = MemoryBudget(local_limits(shared.limits), clock=clock)
        self._retry_shared_s = retry_shared_s
        self._shared_timeout_s = shared_timeout_s
        self._clock = clock
        self._local_until: float | None = None
        """While set, steps go to the local budget until this time, then the shared is asked."""
        self._warned_at: float | None = None

    @property
    def limits(self) -> Limits:
        return self._shared.limits

    @property
    def on_local(self) -> bool:
        """Whether the shared budget failed its last step."""
        return self._local_until is not None

    async def take(self, chat_id: int, weight: int) -> Slot:
        return await self._either(lambda budget: budget.take(chat_id, weight))

    async def delay(self, chat_id: int) -> float:
        return await self._either(lambda budget: budget.delay(chat_id))

    async def hold(self, chat_id: int | None, seconds: float) -> float:
        return await self._either(lambda budget: budget.hold(chat_id, seconds))

    async def _either(self, step: Callable[[Budget], Awaitable[T]]) -> T:
        if self._local_until is not None and self._clock() < self._local_until:
            return await step(self._local)
        try:
            async with asyncio.timeout(self._shared_timeout_s):
                answer = await step(self._shared)
        except Exception as exc:
            if self._local_until is None:
                self._went_local(exc)
            self._local_until = self._clock() + self._retry_shared_s
            return await step(self._local)
        if self._local_until is not None:
            logger.info("the shared Telegram budget answers again")
            self._local_until = None
        return answer

    def _went_local(self, exc: Exception) -> None:
        """Say so, once a minute at most (a database slow to answer after its restart may
        send this process back and forth a few times)."""
        now = self._clock()
        quiet = self._warned_at is not None and now - self._warned_at < _WARN_EVERY_S
        logger.log(
            logging.DEBUG if quiet else logging.WARNING,
            "the shared Telegram budget does not answer (%s: %s); this process sends on its "
            "own budget at a share of the rates until it does",
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        if not quiet:
            self._warned_at = now
