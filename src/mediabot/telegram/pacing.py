"""Pacing outgoing messages to Telegram's published limits.

The limits live in a `Budget` (see `telegram.budget`): in this process's memory in the
embedded mode, in the shared database when several processes send for one bot. The
`Pacer` is what senders talk to: it waits for a slot the budget hands out, holds chats
back after a 429, and keeps a sliding window of what this process really sent in the
last second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from mediabot import metrics
from mediabot.telegram.budget import (
    CHAT_RATE,
    FLOOD_SPREAD_WINDOW_S,
    GLOBAL_RATE,
    GROUP_RATE,
    Budget,
    Clock,
    Limits,
    MemoryBudget,
    Rate,
)

__all__ = ["FLOOD_SPREAD_WINDOW_S", "GLOBAL_RATE", "Clock", "Pacer", "Rate", "Sleep"]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

LATE_S = 0.05
"""A message goes out at most this long after its slot. The budget spaces slots, not
arrivals: a process whose event loop was busy (seven processes on two cores, a lookup
holding the GIL) wakes several slots late and sends them together with the slots of the
moment, and Telegram counts what arrives in each second. A slot passed by more than this
is let go (it is in the past: nobody else could use it either) and a new one taken, so
any one second carries at most the slots of 1 + `LATE_S` seconds. The price is that slot:
the budget is spent a little faster than messages go out while a process runs late."""
LATE_RETAKES = 2
"""A loop late at every wake-up still sends after this many new slots rather than spend
the budget on it without end (its own window of a second, `Pacer._window_room`, holds)."""


class Pacer:
    """Hands out send slots under the bot's rate and each chat's rate.

    `acquire` waits for a slot; `has_room` only tells whether one is free right now (for
    droppable traffic such as progress edits, which are skipped rather than queued, so
    they give way to files and answers); `penalize` holds a chat back after Telegram said
    "retry after" (and everything, when 429s come from several chats at once).
    Without a `budget`, the buckets are this process's own (`MemoryBudget` with the rates
    given). `clock` and `sleep` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        overall: Rate = GLOBAL_RATE,
        per_chat: Rate = CHAT_RATE,
        per_group: Rate = GROUP_RATE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._budget = budget or MemoryBudget(Limits(overall, per_chat, per_group), clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._sent_times: deque[float] = deque()
        limit = self._budget.limits.overall
        self._window_max = max(1, int(limit.per_second) + limit.burst)
        """Messages in any one second: the rate and its burst (Telegram's is about 30)."""

    async def acquire(self, chat_id: int, weight: int = 1) -> None:
        """Wait until a message (or `weight` messages, e.g. an album) may go to `chat_id`.

        A slot is reserved in both buckets at once, in the order asked, so the message goes
        out when both the bot and its chat have room. A chat sitting out a hold (a flood
        wait, a long backlog) is first waited for without a reservation. A slot this
        process woke up for more than `LATE_S` late is let go and another taken (see
        `LATE_S`), up to `LATE_RETAKES` times.
        """
        asked = self._clock()
        for retake in range(LATE_RETAKES + 1):
            slot = await self._budget.take(chat_id, weight)
            while not slot.reserved:
                await self._sleep(slot.wait_s)
                slot = await self._budget.take(chat_id, weight)
            due = self._clock() + slot.wait_s
            if slot.wait_s > 0:
                await self._sleep(slot.wait_s)
            late = self._clock() - due
            if late <= LATE_S:
                break
            logger.debug(
                "slot for chat %s passed %.3f s ago (%s)",
                chat_id,
                late,
                "taking another" if retake < LATE_RETAKES else "sending all the same",
            )
        await self._window_room(weight)
        metrics.RATE_WAIT_SECONDS.observe(max(0.0, self._clock() - asked))

    async def _window_room(self, weight: int) -> None:
        """Telegram counts the messages of each second as they arrive: a busy event loop
        wakes several reserved slots late and together. A sliding window of what really
        went out catches such a bunch before it reaches Telegram's limit."""
        now = self._clock()
        while self._sent_times and self._sent_times[0] <= now - 1.0:
            self._sent_times.popleft()
        if len(self._sent_times) + weight > self._window_max and self._sent_times:
            await self._sleep(self._sent_times[0] + 1.0 - now)
            now = self._clock()
        self._sent_times.extend([now] * weight)

    async def has_room(self, chat_id: int) -> bool:
        """Whether a message to `chat_id` could go out right now (nothing is reserved)."""
        return await self._budget.delay(chat_id) <= 0

    async def delay(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` could go out (0 if now); reserves nothing."""
        return max(0.0, await self._budget.delay(chat_id))

    async def penalize(self, chat_id: int | None, seconds: float) -> bool:
        """Hold back messages after Telegram said "retry after `seconds`"; True if to everyone.

        See `Budget.hold`: one chat waits, or every chat while several chats are held.
        With a shared budget, every process of the bot holds back alike.
        """
        everyone_s = await self._budget.hold(chat_id, seconds)
        if everyone_s > 0:
            logger.warning(
                "flood control (chat %s and others within %.0f s): every chat waits %.1f s",
                chat_id,
                FLOOD_SPREAD_WINDOW_S,
                everyone_s,
            )
        return everyone_s > 0
