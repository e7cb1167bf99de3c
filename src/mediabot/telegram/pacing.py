"""Pacing outgoing messages to Telegram's published limits.

Telegram allows a bot about 30 messages a second overall, about one a second in one
chat (a short burst is tolerated) and 20 a minute in a group. Each limit is a GCRA
bucket (a token bucket kept as one "theoretical arrival time"); a message goes out when
both the global bucket and its chat's bucket have room, and reserving a slot is atomic on
the event loop, so concurrent senders are served in the order they asked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_PRUNE_EVERY = 1000
_HOLD_S = 5.0
"""A chat whose next slot is further off than this is held (a flood wait, a backlog)."""

FLOOD_SPREAD_CHATS = 3
"""429s in this many distinct chats within `FLOOD_SPREAD_WINDOW_S` hold back the whole bot."""
FLOOD_SPREAD_WINDOW_S = 60.0


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


# Under the published limits with a margin: requests arrive with jitter, and a burst of
# b at rate r fits b + r messages in any one second (4 + 25 < 30 overall).
GLOBAL_RATE = Rate(per_second=25.0, burst=4)
CHAT_RATE = Rate(per_second=0.9, burst=3)
GROUP_RATE = Rate(per_second=18 / 60, burst=3)


def shared_rate(rate: Rate, share: float) -> Rate:
    """`rate` for one of several processes that share a bot: `share` of it, burst kept >= 1."""
    return Rate(per_second=rate.per_second * share, burst=max(1, round(rate.burst * share)))


class Pacer:
    """Hands out send slots under a global rate and a per-chat rate.

    `acquire` waits for a slot; `has_room` only tells whether one is free right now (for
    droppable traffic such as progress edits, which are skipped rather than queued);
    `penalize` holds a chat back after Telegram said "retry after" (and everything, when
    429s come from several chats at once).
    Chats with a negative id are groups and channels and get the slower group rate.
    `clock` and `sleep` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        *,
        overall: Rate = GLOBAL_RATE,
        per_chat: Rate = CHAT_RATE,
        per_group: Rate = GROUP_RATE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._overall = overall
        self._per_chat = per_chat
        self._per_group = per_group
        self._clock = clock
        self._sleep = sleep
        self._global_tat = 0.0
        self._chat_tat: dict[int, float] = {}
        self._reservations = 0
        self._floods: deque[tuple[float, int]] = deque()
        self._sent_times: deque[float] = deque()
        self._window_max = max(1, int(overall.per_second) + overall.burst)
        """Messages in any one second: the rate and its burst (Telegram's is about 30)."""

    async def acquire(self, chat_id: int, weight: int = 1) -> None:
        """Wait until a message (or `weight` messages, e.g. an album) may go to `chat_id`.

        A slot is reserved in both buckets at once, in the order asked, so the message goes
        out when both the bot and its chat have room. A chat sitting out a hold (a flood
        wait, a long backlog) is first waited for without a reservation: a slot reserved far
        ahead in the bot-wide bucket would hold every other chat back with it.
        """
        now = self._clock()
        rate = self._rate(chat_id)
        ready = self._chat_tat.get(chat_id, now) - rate.tolerance
        held = ready > now + _HOLD_S
        if held:
            await self._sleep(ready - now)
            now = self._clock()
        at = self._reserve(chat_id, now, weight, chat_waited=held)
        if at > now:
            await self._sleep(at - now)
        await self._window_room(weight)

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

    def has_room(self, chat_id: int) -> bool:
        """Whether a message to `chat_id` could go out right now (nothing is reserved)."""
        now = self._clock()
        return self._earliest(chat_id, now) <= now

    def delay(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` could go out (0 if now); reserves nothing."""
        now = self._clock()
        return self._earliest(chat_id, now) - now

    def penalize(self, chat_id: int | None, seconds: float) -> bool:
        """Hold back messages after Telegram said "retry after `seconds`"; True if to everyone.

        Most 429s are about one chat (its one message a second, a group's 20 a minute),
        so only that chat (private or group) waits. The bot's own limit is hit when 429s
        come from many chats: once `FLOOD_SPREAD_CHATS` distinct chats got one within
        `FLOOD_SPREAD_WINDOW_S`, or for a 429 on a method with no chat, every chat waits
        `seconds` too (its bucket nearly empty, so sending resumes at the global rate).
        """
        now = self._clock()
        until = now + seconds
        if chat_id is not None:
            rate = self._rate(chat_id)
            self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, 0.0), until + rate.tolerance)
            self._floods.append((now, chat_id))
        while self._floods and self._floods[0][0] < now - FLOOD_SPREAD_WINDOW_S:
            self._floods.popleft()
        spread = len({chat for _, chat in self._floods}) >= FLOOD_SPREAD_CHATS
        if chat_id is not None and not spread:
            return False
        self._global_tat = max(self._global_tat, until + self._overall.tolerance)
        logger.warning(
            "flood control in %d chat(s) within %.0f s: every chat waits %.0f s",
            len({chat for _, chat in self._floods}),
            FLOOD_SPREAD_WINDOW_S,
            seconds,
        )
        return True

    def _rate(self, chat_id: int) -> Rate:
        return self._per_group if chat_id < 0 else self._per_chat

    def _earliest(self, chat_id: int, now: float) -> float:
        rate = self._rate(chat_id)
        chat_tat = self._chat_tat.get(chat_id, now)
        return max(
            now,
            self._global_tat - self._overall.tolerance,
            chat_tat - rate.tolerance,
        )

    def _reserve(
        self, chat_id: int, now: float, weight: int, *, chat_waited: bool = False
    ) -> float:
        """Reserve a slot in both buckets; `chat_waited`: the chat's turn was waited for."""
        if chat_waited:
            at = max(now, self._global_tat - self._overall.tolerance)
        else:
            at = self._earliest(chat_id, now)
        rate = self._rate(chat_id)
        self._global_tat = max(self._global_tat, at) + self._overall.interval * weight
        self._chat_tat[chat_id] = max(self._chat_tat.get(chat_id, at), at) + rate.interval * weight
        self._reservations += 1
        if self._reservations % _PRUNE_EVERY == 0:
            self._prune(now)
        return at

    def _prune(self, now: float) -> None:
        """Forget chats whose bucket is full again: they behave like new chats."""
        idle = [chat for chat, tat in self._chat_tat.items() if tat <= now]
        for chat in idle:
            del self._chat_tat[chat]
