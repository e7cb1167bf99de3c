"""A message with links (or `/dl <link>`): the links are asked to be looked up.

The lookup lane's worker answers each link with its buttons, a playlist's offer or a plain
reason (`worker/lookups.py`); the bot records the request and publishes its job, and says
itself only what needs no lookup: that the message had more links than it takes.
"""

from __future__ import annotations

import logging
import uuid

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.filters import ForOtherBot, is_private
from mediabot.bot.links import MAX_LINKS, FoundLinks, HasLinks
from mediabot.bot.offers import playlist_offer_text
from mediabot.bot.outages import UpdateHold
from mediabot.bot.usecases.lookups import LinksPlace, ask_lookup
from mediabot.i18n import current_locale
from mediabot.queue.base import JobQueue

logger = logging.getLogger(__name__)

router = Router(name="links")

__all__ = ["MAX_LINKS", "playlist_offer_text", "router"]


@router.message(HasLinks(MAX_LINKS), ~ForOtherBot())
async def offer_choices(
    message: Message,
    links: FoundLinks,
    session: AsyncSession,
    lookup_queue: JobQueue,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """Ask for the message's links to be looked up; each is answered by a worker."""
    place = LinksPlace(
        chat_row_id=chat_row_id,
        user_row_id=user_row_id,
        telegram_chat_id=message.chat.id,
        message_id=message.message_id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        in_group=not is_private(message),
        locale=current_locale(),
    )
    await ask_lookup(session, hold, lookup_queue).for_links(place, links.urls)
    if links.truncated:
        try:
            await message.reply(texts.too_many_links(MAX_LINKS))
        except TelegramAPIError as exc:
            logger.info("chat %s: replying failed (%s)", message.chat.id, exc.message)
