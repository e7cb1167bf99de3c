"""A press on a playlist's buttons: one choice queues all its items, its row under a video's
offer opens the playlist's own offer, its ✖ stops the rest (`bot.usecases.playlists`)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, edit_in_place
from mediabot.bot.keyboards import (
    PlaylistChoice,
    PlaylistData,
    playlist_cancel_keyboard,
    playlist_keyboard,
)
from mediabot.bot.outages import UpdateHold
from mediabot.bot.presses import OfferPressed
from mediabot.bot.replies import refuse_by_limits, refused_text
from mediabot.bot.usecases import playlists
from mediabot.bot.usecases.choose import Refused
from mediabot.bot.usecases.limits import Limits
from mediabot.bot.usecases.playlists import ItemsQueued, PlaylistChosen
from mediabot.bot.usecases.ports import Ports
from mediabot.config import Settings
from mediabot.db.models import Playlist
from mediabot.domain.enums import MediaKind
from mediabot.domain.offer import Pick

logger = logging.getLogger(__name__)

router = Router(name="playlists")


@router.callback_query(OfferPressed(PlaylistData))
async def choose_for_playlist(
    callback: CallbackQuery,
    callback_data: PlaylistData,
    offer: Playlist,
    shown_on: Message,
    ports: Ports,
    settings: Settings,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """Queue a playlist's items in the choice pressed, open its offer, or cancel the rest."""
    if callback_data.choice is PlaylistChoice.CANCEL:
        await _cancel(callback, shown_on, ports, offer)
        return
    if callback_data.choice is PlaylistChoice.OPEN:
        await _open(callback, shown_on, ports, offer, hold)
        return

    async def reply(chosen: PlaylistChosen) -> None:
        if isinstance(chosen, ItemsQueued):
            text = texts.playlist_queued(chosen.count)
            await acknowledge(callback, text)
            await edit_in_place(shown_on, text, playlist_cancel_keyboard(offer.id))
        elif isinstance(chosen, Refused):
            await acknowledge(callback, refused_text(chosen))
        else:
            await refuse_by_limits(callback, chosen)

    kind = MediaKind.VIDEO if callback_data.choice is PlaylistChoice.VIDEO else MediaKind.AUDIO
    pick = Pick(kind, callback_data.height)
    await playlists.choose(ports, offer, pick, user_row_id, Limits.of(settings), reply)


async def _open(
    callback: CallbackQuery,
    shown_on: Message,
    ports: Ports,
    playlist: Playlist,
    hold: UpdateHold,
) -> None:
    """Offer the playlist a video link also names, in a message of its own; its buttons
    count on that message once it is shown (recorded through a database outage)."""
    options = playlists.offer_of(playlist)
    if isinstance(options, Refused):
        await acknowledge(callback, refused_text(options))
        return
    await acknowledge(callback)
    text = texts.choose_playlist(
        options.title,
        len(options.entries),
        options.duration_s,
        options.total_count if options.capped else None,
        options.skipped,
    )
    try:
        shown = await shown_on.reply(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=playlist_keyboard(playlist.id),
            disable_web_page_preview=True,
        )
    except TelegramAPIError as exc:
        logger.warning("playlist %s: its offer was not shown: %s", playlist.id, exc.message)
        return
    await hold(
        lambda: playlists.shown_on(ports, playlist.id, shown.message_id),
        session=ports.transaction,
    )


async def _cancel(
    callback: CallbackQuery, shown_on: Message, ports: Ports, playlist: Playlist
) -> None:
    cancelled = await playlists.cancel(ports, playlist)
    if cancelled is None:  # it had ended: its worker says how it went
        await acknowledge(callback, texts.not_available())
        return
    await acknowledge(callback, texts.cancelled())
    tally = cancelled.tally
    text = (
        texts.playlist_cancelled(tally.delivered, tally.total) if tally.total else texts.cancelled()
    )
    # The playlist's last word: after any worker's edit allowed before the end has landed.
    await asyncio.sleep(cancelled.settles_in)
    await edit_in_place(shown_on, text)
