"""A press on a playlist's buttons: one choice queues all its items; its ✖ stops the rest.

Each item becomes a request of its own, in turn (cached items first: they arrive at once),
so the worker, the cache, the lease and recovery treat it as any other request; the user's
stack and hourly presses count the playlist as one. Every database step ends before the
bot talks to Telegram, as in `choices`; the one that follows a message (the offer a video
link's row opens) waits out a database outage where it stands.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, note
from mediabot.bot.handlers.choices import pressed_on
from mediabot.bot.handlers.links import playlist_offer_text
from mediabot.bot.keyboards import (
    PlaylistChoice,
    PlaylistData,
    playlist_cancel_keyboard,
    playlist_keyboard,
)
from mediabot.bot.limits import place_still_free, refused_by_limits, refused_when_full
from mediabot.bot.outages import UpdateHold
from mediabot.config import Settings
from mediabot.db.models import File, Playlist
from mediabot.db.repositories import FileRepository, PlaylistRepository
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.playlist import PlaylistOptions, playlist_offers
from mediabot.queue.base import JobQueue

logger = logging.getLogger(__name__)

router = Router(name="playlists")

_FULL: list[File] = []
"""`_queue`'s answer when the user's stack is full (identity, not contents, tells it)."""


@router.callback_query(PlaylistData.filter())
async def choose_for_playlist(
    callback: CallbackQuery,
    callback_data: PlaylistData,
    session: AsyncSession,
    job_queue: JobQueue,
    settings: Settings,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """Queue a playlist's items in the choice pressed, open its offer, or cancel the rest."""
    playlist = await PlaylistRepository(session).get_with_chat(callback_data.playlist_id)
    await session.commit()  # end the read (objects stay loaded) before talking to Telegram
    message = await pressed_on(callback, playlist, user_row_id)
    if message is None or playlist is None:
        return
    if callback_data.choice is PlaylistChoice.CANCEL:
        await _cancel(callback, message, session, playlist)
        return
    if playlist.state is not RequestState.OFFERED:
        await acknowledge(
            callback, texts.not_available() if playlist.state.is_final else texts.already_chosen()
        )
        return
    if callback_data.choice is PlaylistChoice.OPEN:
        await _open(callback, message, session, playlist, hold)
        return
    kind = MediaKind.VIDEO if callback_data.choice is PlaylistChoice.VIDEO else MediaKind.AUDIO
    resolution = callback_data.height if kind is MediaKind.VIDEO else None
    if not playlist_offers(kind, resolution):
        logger.warning("refused choice %r not offered by playlist %s", callback.data, playlist.id)
        await acknowledge(callback, texts.not_available())
        return
    if await refused_by_limits(callback, session, user_row_id, settings):
        return
    items = await _queue(session, playlist, kind, resolution, settings.max_active_requests)
    if items is None:
        await acknowledge(callback, texts.already_chosen())
        return
    if items is _FULL:  # another press of this user's got in first
        await refused_when_full(callback, session, user_row_id, settings.max_active_requests)
        return
    await acknowledge(callback, texts.playlist_queued(len(items)))
    await note(message, texts.playlist_queued(len(items)), playlist_cancel_keyboard(playlist.id))
    for item in items:
        if not await hold.publish(job_queue, Job(item.id)):
            logger.warning("playlist %s: the rest of its items wait for recovery", playlist.id)
            return


async def _queue(
    session: AsyncSession,
    playlist: Playlist,
    kind: MediaKind,
    resolution: int | None,
    max_active: int,
) -> list[File] | None:
    """Record the choice and one queued request per item; None when it was already made,
    `_FULL` when the user's stack filled up meanwhile (checked again under their lock)."""
    playlists = PlaylistRepository(session)
    if playlist.requested_by_id is not None and not await place_still_free(
        session, playlist.requested_by_id, max_active
    ):
        await session.commit()
        return _FULL
    if not await playlists.choose(playlist.id, kind, resolution):
        await session.commit()
        return None
    playlist.kind, playlist.resolution = kind, resolution
    files = FileRepository(session)
    cached = {
        index
        for index, entry in enumerate(playlist.entries)
        if await files.find_delivered(entry.media_key, kind, resolution) is not None
    }
    items = await playlists.queue_items(playlist, cached)
    await session.commit()
    logger.info(
        "playlist %s: %d items queued as %s %s (%d cached)",
        playlist.id,
        len(items),
        kind,
        resolution or "",
        len(cached),
    )
    return items


async def _open(
    callback: CallbackQuery,
    message: Message,
    session: AsyncSession,
    playlist: Playlist,
    hold: UpdateHold,
) -> None:
    """Offer the playlist a video link also names, in a message of its own."""
    options = PlaylistOptions(
        url=playlist.request_url,
        title=playlist.title or "",
        entries=playlist.entries,
        total_count=playlist.total_count,
        skipped=playlist.skipped_count,
    )
    await acknowledge(callback)
    try:
        shown = await message.reply(
            playlist_offer_text(options),
            parse_mode=ParseMode.HTML,
            reply_markup=playlist_keyboard(playlist.id),
            disable_web_page_preview=True,
        )
    except TelegramAPIError as exc:
        logger.warning("playlist %s: its offer was not shown: %s", playlist.id, exc.message)
        return

    async def remember() -> None:
        row = await PlaylistRepository(session).get(playlist.id)
        if row is not None:
            # Its buttons are recognised on that message from now on.
            row.status_message_id = shown.message_id
        await session.commit()

    await hold(remember, session=session)


async def _cancel(
    callback: CallbackQuery, message: Message, session: AsyncSession, playlist: Playlist
) -> None:
    if playlist.state.is_final:
        await acknowledge(callback, texts.not_available())
        return
    playlists = PlaylistRepository(session)
    cancelled = await playlists.end_items(playlist.id, RequestState.CANCELLED, "cancelled")
    tally = await playlists.tally(playlist.id)
    settles_in = await playlists.status_settles_in(playlist.id)
    await session.commit()
    if not cancelled:  # its last item ended meanwhile: its worker says how it went
        await acknowledge(callback, texts.not_available())
        return
    logger.info("playlist %s: cancelled by the user (%d cancelled)", playlist.id, tally.cancelled)
    await acknowledge(callback, texts.cancelled())
    text = (
        texts.playlist_cancelled(tally.delivered, tally.total) if tally.total else texts.cancelled()
    )
    # The playlist's last word: after any worker's edit allowed before the end has landed.
    await asyncio.sleep(settles_in)
    await note(message, text)
