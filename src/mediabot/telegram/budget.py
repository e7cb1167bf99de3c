"""Telegram's limits as one budget that every sender of the bot draws from.

Telegram allows a bot about 30 messages a second overall, about one a second in one
chat (a short burst is tolerated) and 20 a minute in a group, whichever process sends.
Each limit is a GCRA bucket (a token bucket kept as one "theoretical arrival time", TAT).
A `Budget` keeps the buckets: `MemoryBudget` in this process (the embedded mode, one
process), `mediabot.db.budget.PostgresBudget` in the database every process shares, so a
bot and any number of workers together stay under the bot's limits without a share per
process to compute by hand.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]

HOLD_S = 1.0
"""A chat whose next slot is further off than this is held (a flood wait, a backlog): its
sender waits without a reservation and asks again, since a slot reserved ahead in the
bot-wide bucket leaves the bot's slots before it unused by every other chat."""

FLOOD_SPREAD_CHATS = 3
"""429s in this many distinct chats within `FLOOD_SPREAD_WINDOW_S` hold back the whole bot,
for as long as this many of them are still held (see `Budget.hold`)."""
FLOOD_SPREAD_WINDOW_S = 60.0

_PRUNE_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Rate:
    """`per_second` sustained, with up to `burst` messages back to back."""

    per_second: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        return self.interval * (self.burst - 1)


# Under the published limits with a margin: a burst of b at rate r fits b + r messages in
# any one second, and b + r * (1 + LATE_S) once senders may go out up to
# `pacing.LATE_S` after their slot (1 + 26 * 1.05 = 28.3 < 30 overall); what is left
# absorbs the jitter of the requests on their way and a process late at every wake-up
# (see `pacing.LATE_RETAKES`). At 27, a loaded machine meets 429s (bench/README).
GLOBAL_RATE = Rate(per_second=26.0, burst=1)
CHAT_RATE = Rate(per_second=0.9, burst=3)
GROUP_RATE = Rate(per_second=18 / 60, burst=3)


@dataclass(frozen=True, slots=True)
class Limits:
    """The bot-wide rate and the rate of one chat; chats with a negative id are groups."""

    overall: Rate = GLOBAL_RATE
    per_chat: Rate = CHAT_RATE
    per_group: Rate = GROUP_RATE

    def of_chat(self, chat_id: int) -> Rate:
        return self.per_group if chat_id < 0 else self.per_chat


@dataclass(frozen=True, slots=True)
class Slot:
    """The answer to a request for a slot: send in `wait_s` seconds (0: now).

    `reserved` False means the chat is held (see `HOLD_S`): nothing was taken; wait
    `wait_s` and ask again (like any other sender: every waiter of a held chat wakes at
    the same time, and each must still find room in the chat's bucket).
    """

    wait_s: float
    reserved: bool = True


@dataclass(frozen=True, slots=True)
class _Flood:
    """A chat's last 429 (`at`) and the latest end of the waits it was told (`until`)."""

    at: float
    until: float


class Budget(Protocol):
    """The buckets of one bot. Every method is one atomic step on the shared state."""

    @property
    def limits(self) -> Limits: ...

    async def take(self, chat_id: int, weight: int) -> Slot:
        """Reserve `weight` messages to `chat_id` in the bot's and the chat's bucket at once."""
        ...

    async def delay(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` could go out (0 if now); reserves nothing."""
        ...

    async def hold(self, chat_id: int | None, seconds: float) -> float:
        """Hold back messages after Telegram said "retry after `seconds`"; returns how long
        every chat is held back because of it (0: only `chat_id` is).

        Most 429s are about one chat (its one message a second, a group's 20 a minute):
        that chat waits `seconds`. The bot's own limit shows as 429s in several chats at
        once, so every chat waits while `FLOOD_SPREAD_CHATS` distinct chats whose last 429
        came within `FLOOD_SPREAD_WINDOW_S` are still held: until the
        `FLOOD_SPREAD_CHATS`-th latest end of their waits (a chat counts once, until the
        latest end of its own waits). Two chats told 1 s and one told 200 s hold everyone
        1 s and that one chat 200 s. A 429 on a method with no chat is about the bot: every
        chat waits `seconds`.
        """
        ...


class MemoryBudget:
    """The buckets in this process's memory: for one process (the embedded mode, tests).

    Each step runs without an `await`, so it is atomic on the event loop. `clock` is
    injectable so tests run on a fake clock.
    """

    def __init__(self, limits: Limits | None = None, *, clock: Clock = time.monotonic) -> None:
        self._limits = limits or Limits()
        self._clock = clock
        self._global_tat = 0.0
        self._chat_tat: dict[int, float] = {}
        self._reservations = 0
        self._floods: dict[int, _Flood] = {}
        """Chats by their last 429 within `FLOOD_SPREAD_WINDOW_S` (older ones are dropped)."""

    @property
    def limits(self) -> Limits:
        return self._limits

    async def take(self, chat_id: int, weight: int) -> Slot:
        now = self._clock()
        rate = self._limits.of_chat(chat_id)
        ready = self._chat_tat.get(chat_id, now) - rate.tolerance
        if ready > now + HOLD_S:
            return Slot(ready - now, reserved=False)
        at = self._earliest(chat_id, now)
        self._global_tat = max(self._global_tat, at) + self._limits.overall.interval * weight
        self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, at), at) + rate.interval * weight
        self._reservations += 1
        if self._reservations % _PRUNE_EVERY == 0:
            self._prune(now)
        return Slot(at - now)

    async def delay(self, chat_id: int) -> float:
        now = self._clock()
        return self._earliest(chat_id, now) - now

    async def hold(self, chat_id: int | None, seconds: float) -> float:
        now = self._clock()
        until = now + seconds
        if chat_id is None:
            return self._hold_everyone(now, until)
        rate = self._limits.of_chat(chat_id)
        self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, 0.0), until + rate.tolerance)
        recent = now - FLOOD_SPREAD_WINDOW_S
        self._floods = {chat: flood for chat, flood in self._floods.items() if flood.at >= recent}
        previous = self._floods.get(chat_id)
        self._floods[chat_id] = _Flood(now, max(until, previous.until) if previous else until)
        ends = (flood.until for flood in self._floods.values() if flood.until > now)
        held = heapq.nlargest(FLOOD_SPREAD_CHATS, ends)
        if len(held) < FLOOD_SPREAD_CHATS:
            return 0.0
        return self._hold_everyone(now, held[-1])

    def _hold_everyone(self, now: float, until: float) -> float:
        overall = self._limits.overall
        self._global_tat = max(self._global_tat, until + overall.tolerance)
        return until - now

    def _earliest(self, chat_id: int, now: float) -> float:
        rate = self._limits.of_chat(chat_id)
        chat_tat = self._chat_tat.get(chat_id, now)
        return max(
            now,
            self._global_tat - self._limits.overall.tolerance,
            chat_tat - rate.tolerance,
        )

    def _prune(self, now: float) -> None:
        """Forget chats whose bucket is full again: they behave like new chats."""
        idle = [chat for chat, tat in self._chat_tat.items() if tat <= now]
        for chat in idle:
            del self._chat_tat[chat]
