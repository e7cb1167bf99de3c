"""Telegram's limits kept in PostgreSQL, so every process of a bot draws from one budget.

Each step is one statement (a function installed by migration 0007): `take` locks the
bot's row, then the chat's, reads the database's clock and moves both buckets on;
`hold` records a 429 where every process sees it. A process sends its steps one at a
time (one connection, in the order its senders asked), so a burst of a thousand waiting
senders does not take a thousand connections.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.telegram.budget import (
    FLOOD_SPREAD_CHATS,
    FLOOD_SPREAD_WINDOW_S,
    HOLD_S,
    Limits,
    Slot,
)

logger = logging.getLogger(__name__)

_TAKE = text(
    "SELECT wait_s, reserved FROM telegram_budget_take("
    ":chat, :weight, :global_interval, :global_tolerance, :chat_interval, :chat_tolerance, "
    ":hold)"
)
_HOLD = text(
    "SELECT telegram_budget_hold("
    ":chat, :seconds, :chat_tolerance, :global_tolerance, :spread_chats, :spread_window)"
)
_DELAY = text(
    "SELECT chat_id, tat, extract(epoch FROM clock_timestamp()) AS now "
    "FROM telegram_budget WHERE chat_id IN (0, :chat)"
)


class PostgresBudget:
    """A `telegram.budget.Budget` in the `telegram_budget` table of a PostgreSQL database."""

    def __init__(self, engine: AsyncEngine, limits: Limits | None = None) -> None:
        # Each step is one statement: no transaction around it, one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._limits = limits or Limits()
        self._turn = asyncio.Lock()

    @property
    def limits(self) -> Limits:
        return self._limits

    async def take(self, chat_id: int, weight: int) -> Slot:
        rate = self._limits.of_chat(chat_id)
        overall = self._limits.overall
        async with self._turn, self._engine.connect() as connection:
            row = (
                await connection.execute(
                    _TAKE,
                    {
                        "chat": chat_id,
                        "weight": weight,
                        "global_interval": overall.interval,
                        "global_tolerance": overall.tolerance,
                        "chat_interval": rate.interval,
                        "chat_tolerance": rate.tolerance,
                        "hold": HOLD_S,
                    },
                )
            ).one()
        return Slot(float(row.wait_s), reserved=bool(row.reserved))

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

    async def hold(self, chat_id: int | None, seconds: float) -> bool:
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
        return bool(everyone)
