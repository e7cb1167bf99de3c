"""The limits a press meets before anything is queued: the user's stack and hourly presses.

A first check answers early with the reason; `place_still_free` counts again with the
user's row locked, in the transaction that records the request, so two presses at once
cannot both take the last place.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import timedelta

from aiogram.enums import ParseMode
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge
from mediabot.bot.handlers.queue import describe_in_flight, in_flight_lines
from mediabot.config import Settings
from mediabot.db.base import utcnow
from mediabot.db.repositories import FileRepository, UserRepository

logger = logging.getLogger(__name__)

_HOUR = timedelta(hours=1)


async def refused_by_limits(
    callback: CallbackQuery, session: AsyncSession, user_id: uuid.UUID, settings: Settings
) -> bool:
    """Whether a press meets the user's full stack or their hourly limit (answered so)."""
    return await refused_when_full(
        callback, session, user_id, settings.max_active_requests
    ) or await refused_over_hourly_limit(callback, session, user_id, settings.rate_limit_per_hour)


async def refused_when_full(
    callback: CallbackQuery, session: AsyncSession, user_id: uuid.UUID, limit: int
) -> bool:
    """Whether the user already has `limit` requests in flight; if so, the press is
    answered with the list of them (and nothing is queued)."""
    if await FileRepository(session).count_in_flight_of_user(user_id) < limit:
        return False
    described = await describe_in_flight(session, user_id)
    await session.commit()  # end the read before talking to Telegram
    logger.info("user %s: %d requests in flight; press refused", callback.from_user.id, limit)
    await acknowledge(callback, texts.stack_full_alert(limit))
    if isinstance(callback.message, Message):
        await callback.message.answer(
            texts.stack_full(limit, in_flight_lines(described)), parse_mode=ParseMode.HTML
        )
    return True


async def refused_over_hourly_limit(
    callback: CallbackQuery, session: AsyncSession, user_row_id: uuid.UUID, limit: int
) -> bool:
    """Refuse a press past `RATE_LIMIT_PER_HOUR`, saying when the oldest press expires."""
    now = utcnow()
    count, oldest = await FileRepository(session).presses_since(user_row_id, now - _HOUR)
    await session.commit()
    if count < limit or oldest is None:
        return False
    retry = oldest + _HOUR
    minutes = max(1, math.ceil((retry - now).total_seconds() / 60))
    logger.info("user row %s: hourly limit of %d reached", user_row_id, limit)
    await acknowledge(callback, texts.hourly_limit(limit, minutes, f"{retry:%H:%M}"), alert=True)
    return True


async def place_still_free(session: AsyncSession, user_id: uuid.UUID, limit: int) -> bool:
    """Lock the user's row and count their requests in flight again: True if under `limit`.

    Call it in the transaction that records the new request; the lock lasts until its end.
    """
    await UserRepository(session).lock(user_id)
    return await FileRepository(session).count_in_flight_of_user(user_id) < limit


async def limit_refusal(
    session: AsyncSession, user_row_id: uuid.UUID, settings: Settings
) -> str | None:
    """Why one more request of this user is refused (a full stack, the hourly limit), in
    one short line; None when it may go. For choices without a button press to answer
    (a chosen inline result, a deep link)."""
    files = FileRepository(session)
    limit = settings.max_active_requests
    refusal = None
    if await files.count_in_flight_of_user(user_row_id) >= limit:
        refusal = texts.stack_full_alert(limit)
    else:
        now = utcnow()
        count, oldest = await files.presses_since(user_row_id, now - _HOUR)
        if count >= settings.rate_limit_per_hour and oldest is not None:
            retry = oldest + _HOUR
            minutes = max(1, math.ceil((retry - now).total_seconds() / 60))
            refusal = texts.hourly_limit(settings.rate_limit_per_hour, minutes, f"{retry:%H:%M}")
    await session.commit()  # end the read before talking to Telegram
    if refusal is not None:
        logger.info("user row %s: refused by the limits", user_row_id)
    return refusal
