"""The limits a request meets before anything is queued: the user's stack and hourly presses.

`refused_by_limits` answers early with the reason; `taken_meanwhile` counts again with the
user's row locked, in the transaction that records the request, so two presses at once
cannot both take the last place.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from mediabot.bot.usecases.in_flight import InFlight, in_flight
from mediabot.bot.usecases.ports import Ports
from mediabot.config import Settings

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Limits:
    """`MAX_ACTIVE_REQUESTS` and `RATE_LIMIT_PER_HOUR`."""

    max_active: int
    per_hour: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_active_requests, settings.rate_limit_per_hour)


@dataclass(frozen=True, slots=True)
class StackFull:
    """The user has `limit` requests in flight already: these."""

    limit: int
    in_flight: list[InFlight]


@dataclass(frozen=True, slots=True)
class HourlyLimit:
    """The user chose `limit` times within the hour; one more may go in `minutes` (at
    `retry_at`, UTC)."""

    limit: int
    minutes: int
    retry_at: datetime


LimitRefusal = StackFull | HourlyLimit


async def refused_by_limits(
    ports: Ports, user_id: uuid.UUID, limits: Limits
) -> LimitRefusal | None:
    """Why one more request of this user is refused; None when it may go."""
    refused = await stack_full(ports, user_id, limits.max_active)
    if refused is not None:
        return refused
    now = ports.clock()
    count, oldest = await ports.files.presses_since(user_id, now - HOUR)
    await ports.transaction.commit()
    hourly = over_hourly_limit(count, oldest, now, limits.per_hour)
    if hourly is not None:
        logger.info("user row %s: hourly limit of %d reached", user_id, limits.per_hour)
    return hourly


def over_hourly_limit(
    count: int, oldest: datetime | None, now: datetime, limit: int
) -> HourlyLimit | None:
    """The hourly limit, when `count` choices within the hour before `now` (the `oldest`
    of them at that time) reach it."""
    if count < limit or oldest is None:
        return None
    retry = oldest + HOUR
    minutes = max(1, math.ceil((retry - now).total_seconds() / 60))
    return HourlyLimit(limit, minutes, retry)


async def stack_full(ports: Ports, user_id: uuid.UUID, limit: int) -> StackFull | None:
    """The user's requests in flight when they are `limit` already; None when there is
    room. Ends the transaction."""
    if await ports.files.count_in_flight_of_user(user_id) < limit:
        await ports.transaction.commit()
        return None
    listed = await in_flight(ports.files, user_id)
    await ports.transaction.commit()
    logger.info("user row %s: %d requests in flight; refused", user_id, limit)
    return StackFull(limit, listed)


async def place_still_free(ports: Ports, user_id: uuid.UUID, limit: int) -> bool:
    """Lock the user's row and count their requests in flight again: True if under `limit`.

    Call it in the transaction that records the new request; the lock lasts until its end.
    """
    await ports.users.lock(user_id)
    return await ports.files.count_in_flight_of_user(user_id) < limit


async def taken_meanwhile(ports: Ports, user_id: uuid.UUID, limit: int) -> StackFull | None:
    """The full stack when another request of the user's took the last place since
    `refused_by_limits` (the transaction ends then); None when the place is still free:
    the transaction goes on, holding the user's row locked until it ends."""
    if await place_still_free(ports, user_id, limit):
        return None
    return await stack_full(ports, user_id, limit) or StackFull(limit, [])
