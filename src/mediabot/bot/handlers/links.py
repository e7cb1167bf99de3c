"""A message with links: each link gets a status message and then its buttons."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.keyboards import choices_keyboard
from mediabot.bot.links import extract_links
from mediabot.db.models import File
from mediabot.db.repositories import FileRepository, ProviderRepository
from mediabot.domain.enums import RequestState
from mediabot.domain.media import MediaOptions
from mediabot.downloaders.errors import DownloadError

logger = logging.getLogger(__name__)

router = Router(name="links")

MAX_LINKS = 5
LOOKUP_TIMEOUT_S = 90.0

Lookup = Callable[[str], Awaitable[MediaOptions]]


def _has_link(message: Message) -> bool:
    return bool(extract_links(message, MAX_LINKS)[0])


async def _look_up(lookup: Lookup, url: str) -> MediaOptions | str:
    """The options a link offers, or the sentence that tells the user why not."""
    try:
        return await asyncio.wait_for(lookup(url), LOOKUP_TIMEOUT_S)
    except DownloadError as exc:
        logger.info("link refused: %s (%s): %s", url, type(exc).__name__, exc.detail)
        return exc.user_message
    except TimeoutError:
        logger.warning("lookup timed out: %s", url)
        return texts.LOOKUP_FAILED
    except Exception:
        logger.exception("lookup failed: %s", url)
        return texts.LOOKUP_FAILED


@router.message(_has_link)
async def offer_choices(
    message: Message,
    session: AsyncSession,
    lookup: Lookup,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
) -> None:
    """Look up every link of the message and answer each with its resolution buttons."""
    urls, truncated = extract_links(message, MAX_LINKS)
    statuses = [
        await message.reply(texts.LOOKING_UP.format(url=url), disable_web_page_preview=True)
        for url in urls
    ]
    if truncated:
        await message.reply(texts.TOO_MANY_LINKS.format(limit=MAX_LINKS))
    outcomes = await asyncio.gather(*(_look_up(lookup, url) for url in urls))

    files = FileRepository(session)
    for url, status, outcome in zip(urls, statuses, outcomes, strict=True):
        if isinstance(outcome, str):
            await status.edit_text(outcome)
            continue
        if not outcome.resolutions and not outcome.has_audio and not outcome.photo_count:
            await status.edit_text(texts.NOTHING_TO_OFFER)
            continue
        offer = await files.add(
            File(
                chat_id=chat_row_id,
                requested_by_id=user_row_id,
                provider_id=await ProviderRepository(session).id_of(outcome.provider),
                request_url=url,
                media_key=outcome.media_key,
                state=RequestState.OFFERED,
                title=outcome.title[:512] if outcome.title else None,
                duration_s=outcome.duration_s,
                status_message_id=status.message_id,
                offer={
                    "heights": list(outcome.heights),
                    "sizes": {
                        str(resolution.height): resolution.estimated_bytes
                        for resolution in outcome.resolutions
                    },
                    "audio": outcome.has_audio,
                    "audio_size": outcome.audio_estimated_bytes,
                    "photos": outcome.photo_count,
                },
            )
        )
        await session.commit()
        logger.info("offer %s: %s -> %s %s", offer.id, url, outcome.media_key, outcome.heights)
        await status.edit_text(
            texts.choose(outcome.title), reply_markup=choices_keyboard(offer.id, outcome)
        )
