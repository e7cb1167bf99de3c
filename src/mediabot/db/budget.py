"""Telegram's limits kept in PostgreSQL, so every process of a bot draws from one budget.

Each step is one statement (a function installed by migrations 0007 and 0010): `take`
locks the bot's row, then the chat's, reads the database's clock and moves both buckets
on; `hold` records a 429 where every process sees it. A process sends its steps one at a
time (one connection), so a burst of a thousand waiting senders does not take a thousand
connections; the takes asked for while one is on its way go together in the next
statement, in the order asked, so a busy process reserves as many slots per round trip
as it has senders waiting rather than one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.telegram.budget import (
    FLOOD_SPREAD_CHATS,
    FLOOD_SPREAD_WINDOW_S,
    HOLD_S,
    Limits,
    Slot,
)

# One take per asker, in the order asked: the function runs once per row of the unnest,
# each call seeing the buckets the calls before it moved.
_TAKE = text(
    "SELECT t.wait_s, t.reserved FROM unnest("
    "CAST(:chats AS bigint[]), CAST(:weights AS integer[]), "
    "CAST(:chat_intervals AS float8[]), CAST(:chat_tolerances AS float8[])"
    ") WITH ORDINALITY AS a(chat, weight, chat_interval, chat_tolerance, n) "
    "CROSS JOIN LATERAL telegram_budget_take("
    "a.chat, a.weight, :global_interval, :global_tolerance, a.chat_interval, "
    "a.chat_tolerance, :hold) AS t ORDER BY a.n"
)
_HOLD = text(
    "SELECT telegram_budget_hold("
    ":chat, :seconds, :chat_tolerance, :global_tolerance, :spread_chats, :spread_window)"
)
_DELAY = text(
    "SELECT chat_id, tat, extract(epoch FROM clock_timestamp()) AS now "
    "FROM telegram_budget WHERE chat_id IN (0, :chat)"
)


@dataclass(eq=False, slots=True)
class _Ask:
    """A take waiting for its statement; `answer` gets its slot and the local time it was read."""

    chat_id: int
    weight: int
    answer: asyncio.Future[tuple[Slot, float]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class PostgresBudget:
    """A `telegram.budget.Budget` in the `telegram_budget` table of a PostgreSQL database."""

    def __init__(self, engine: AsyncEngine, limits: Limits | None = None) -> None:
        # Each step is one statement: no transaction around it, one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._limits = limits or Limits()
        self._turn = asyncio.Lock()
        self._asks: list[_Ask] = []
        self._taker: asyncio.Task[None] | None = None

    @property
    def limits(self) -> Limits:
        return self._limits

    async def take(self, chat_id: int, weight: int) -> Slot:
        """The slot, with `wait_s` counted from when this returns (negative: it has passed,
        as when a busy event loop resumed this caller late)."""
        ask = _Ask(chat_id, weight)
        self._asks.append(ask)
        if self._taker is None or self._taker.done():
            self._taker = asyncio.create_task(self._take_asked())
        # A caller that gives up leaves its ask cancelled: skipped, or its slot unused.
        slot, received = await ask.answer
        return Slot(slot.wait_s - (time.monotonic() - received), slot.reserved)

    async def _take_asked(self) -> None:
        """Take the slots asked for, every ask waiting at the time in one statement.

        One task does it, and each asker waits for its own answer: they all resume as
        soon as the statement returns, not one after another through a lock.
        """
        while self._asks:
            asks = [ask for ask in self._asks if not ask.answer.done()]
            self._asks = []
            if not asks:
                continue
            try:
                rows = await self._take_all(asks)
            except asyncio.CancelledError:  # the loop is shutting down: so are the askers
                for ask in [*asks, *self._asks]:
                    ask.answer.cancel()
                raise
            except Exception as exc:
                for ask in asks:
                    if not ask.answer.done():
                        ask.answer.set_exception(exc)
                continue
            received = time.monotonic()
            for ask, row in zip(asks, rows, strict=True):
                if not ask.answer.done():
                    ask.answer.set_result((Slot(float(row.wait_s), bool(row.reserved)), received))

    async def _take_all(self, asks: list[_Ask]) -> list[Row[Any]]:
        overall = self._limits.overall
        rates = [self._limits.of_chat(ask.chat_id) for ask in asks]
        async with self._turn, self._engine.connect() as connection:
            result = await connection.execute(
                _TAKE,
                {
                    "chats": [ask.chat_id for ask in asks],
                    "weights": [ask.weight for ask in asks],
                    "chat_intervals": [rate.interval for rate in rates],
                    "chat_tolerances": [rate.tolerance for rate in rates],
                    "global_interval": overall.interval,
                    "global_tolerance": overall.tolerance,
                    "hold": HOLD_S,
                },
            )
            return list(result.all())

    async def delay(self, chat_id: int) -> float:
        async with self._turn, self._engine.connect() as connection:
            rows = (await connection.execute(_DELAY, {"chat": chat_id})).all()
        if not rows:
            return 0.0
        now = float(rows[0].now)
        ready = now
        for row in rows:
            rate = self._limits.overall if row.chat_id == 0 else self._limits.of_chat(chat_id)
            ready = max(ready, float(row.tat) - rate.tolerance)
        return ready - now

    async def hold(self, chat_id: int | None, seconds: float) -> float:
        rate = self._limits.of_chat(chat_id or 1)
        async with self._turn, self._engine.connect() as connection:
            everyone = await connection.scalar(
                _HOLD,
                {
                    "chat": chat_id,
                    "seconds": seconds,
                    "chat_tolerance": rate.tolerance,
                    "global_tolerance": self._limits.overall.tolerance,
                    "spread_chats": FLOOD_SPREAD_CHATS,
                    "spread_window": FLOOD_SPREAD_WINDOW_S,
                },
            )
        return float(everyone or 0.0)
