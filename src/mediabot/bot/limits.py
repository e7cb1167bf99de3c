"""The limits a choice without a button press meets (a chosen inline result, a deep link).

The same rules as `bot.usecases.limits`, over a session, for the inline handlers.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.usecases.limits import HOUR, over_hourly_limit
from mediabot.config import Settings
from mediabot.db.base import utcnow
from mediabot.db.repositories import RequestRows, UserRepository

logger = logging.getLogger(__name__)


async def place_still_free(session: AsyncSession, user_id: uuid.UUID, limit: int) -> bool:
    """Lock the user's row and count their requests in flight again: True if under `limit`.

    Call it in the transaction that records the new request; the lock lasts until its end.
    """
    await UserRepository(session).lock(user_id)
    return await RequestRows(session).count_in_flight_of_user(user_id) < limit


async def limit_refusal(
    session: AsyncSession, user_row_id: uuid.UUID, settings: Settings
) -> str | None:
    """Why one more request of this user is refused (a full stack, the hourly limit), in
    one short line; None when it may go."""
    files = RequestRows(session)
    limit = settings.max_active_requests
    refusal = None
    if await files.count_in_flight_of_user(user_row_id) >= limit:
        refusal = texts.stack_full_alert(limit)
    else:
        now = utcnow()
        count, oldest = await files.presses_since(user_row_id, now - HOUR)
        hourly = over_hourly_limit(count, oldest, now, settings.rate_limit_per_hour)
        if hourly is not None:
            refusal = texts.hourly_limit(hourly.limit, hourly.minutes, f"{hourly.retry_at:%H:%M}")
    await session.commit()  # end the read before talking to Telegram
    if refusal is not None:
        logger.info("user row %s: refused by the limits", user_row_id)
    return refusal
