"""/stats, /ban and /unban, for `ADMIN_IDS`: the statistics, and a user banned or let back."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mediabot.bot.usecases.ports import Ports
from mediabot.db.stats import Stats

logger = logging.getLogger(__name__)


async def stats(ports: Ports) -> Stats:
    """The statistics now, counted by the database."""
    counted = await ports.stats(ports.clock())
    await ports.transaction.commit()
    return counted


@dataclass(frozen=True, slots=True)
class Banned:
    """`found`: a user has this Telegram id; `cancelled`: their pending requests a ban ended."""

    found: bool
    cancelled: int = 0


async def ban(ports: Ports, telegram_id: int, banned: bool) -> Banned:
    """Ban (or unban) the user with `telegram_id`; a ban cancels their pending requests
    (queued ones never start; a worker holding one notices and stops)."""
    found = await ports.users.set_banned(telegram_id, banned)
    cancelled = []
    if found and banned:
        cancelled = await ports.files.cancel_pending_of_user(telegram_id, "banned")
    await ports.transaction.commit()
    if found:
        logger.info(
            "user %s banned=%s: %d pending request(s) cancelled",
            telegram_id,
            banned,
            len(cancelled),
        )
    return Banned(found, len(cancelled))
