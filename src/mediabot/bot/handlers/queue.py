"""/queue: a user's requests in flight, newest first, each with its state and a ✖.

A playlist is one line (its item now on turn, marked 📃), and its ✖ cancels what is left
of the playlist. The ✖ cancels for the request's owner only. A queued request cancelled
here is never started (the worker's claim takes only pending requests); a running one is
stopped by its worker within seconds (`worker.steps.watch`), which deletes its files and
says so on its status message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from aiogram import Bot, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, note
from mediabot.bot.keyboards import QueueCancelData, queue_keyboard
from mediabot.bot.outages import UpdateHold
from mediabot.db.models import File
from mediabot.db.repositories import FileRepository, PlaylistRepository
from mediabot.domain.enums import RequestState

logger = logging.getLogger(__name__)

router = Router(name="queue")


async def describe_in_flight(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[File, str]]:
    """The user's requests in flight, newest first, each with its state in words."""
    files = FileRepository(session)
    described = []
    for file in _one_per_playlist(await files.in_flight_of_user(user_id)):
        described.append((file, await _state_of(files, file)))
    return described


def _one_per_playlist(in_flight: Sequence[File]) -> list[File]:
    """The requests, with each playlist stood for by its item on turn (the first pending)."""
    on_turn: dict[uuid.UUID, File] = {}
    for file in in_flight:
        if file.playlist_id is None or file.playlist_position is None:
            continue
        first = on_turn.get(file.playlist_id)
        if first is None or (first.playlist_position or 0) > file.playlist_position:
            on_turn[file.playlist_id] = file
    return [
        file
        for file in in_flight
        if file.playlist_id is None or on_turn.get(file.playlist_id) is file
    ]


def in_flight_lines(described: Sequence[tuple[File, str]]) -> list[str]:
    return [
        texts.in_flight_line(number, _listed(file), state)
        for number, (file, state) in enumerate(described, start=1)
    ]


def _listed(file: File) -> str:
    title = texts.listed_title(file.title)
    return title if file.playlist_id is None else f"📃 {title}"


async def _state_of(files: FileRepository, file: File) -> str:
    if file.state is RequestState.QUEUED:
        return texts.state_queued(await files.queue_position(file))
    if file.state is RequestState.DOWNLOADING:
        return texts.state_downloading(file.progress_percent)
    if file.state is RequestState.UPLOADING:
        return texts.state_uploading(len(file.parts) + 1, file.parts_total)
    return texts.state_starting()


async def _listing(session: AsyncSession, user_id: uuid.UUID) -> tuple[str, list[uuid.UUID]]:
    described = await describe_in_flight(session, user_id)
    await session.commit()  # end the read before talking to Telegram
    if not described:
        return texts.queue_empty(), []
    text = "\n".join([texts.queue_header(), *in_flight_lines(described)])
    return text, [file.id for file, _ in described]


@router.message(Command("queue"))
async def show_queue(message: Message, session: AsyncSession, user_row_id: uuid.UUID) -> None:
    """List the user's requests in flight with a ✖ each."""
    text, ids = await _listing(session, user_row_id)
    await message.answer(
        text, parse_mode=ParseMode.HTML, reply_markup=queue_keyboard(ids) if ids else None
    )


@router.callback_query(QueueCancelData.filter())
async def cancel_from_queue(
    callback: CallbackQuery,
    callback_data: QueueCancelData,
    session: AsyncSession,
    user_row_id: uuid.UUID,
    bot: Bot,
    hold: UpdateHold,
) -> None:
    """Cancel one of the user's requests in flight, then show the list again (read after
    the press was answered: an outage then is waited out there, not by cancelling again)."""
    files = FileRepository(session)
    file = await files.get_with_chat(callback_data.request_id)
    if file is None or file.requested_by_id != user_row_id:
        await session.commit()
        logger.warning("refused cancel %r from user %s", callback.data, callback.from_user.id)
        await acknowledge(callback, texts.not_yours())
        return
    was_waiting = file.state in (RequestState.ACCEPTED, RequestState.QUEUED)
    if file.playlist_id is not None:
        # A playlist's line stands for all of it: its ✖ stops what is left, and ending
        # the playlist makes its status's last word this one's to say.
        playlists = PlaylistRepository(session)
        cancelled = await playlists.end_items(file.playlist_id, RequestState.CANCELLED, "cancelled")
        tally = await playlists.tally(file.playlist_id)
        said = texts.playlist_cancelled(tally.delivered, tally.total)
        settles_in = await playlists.status_settles_in(file.playlist_id)
        say_it = cancelled
    else:
        cancelled = await files.set_state(file.id, RequestState.CANCELLED)
        said = texts.cancelled()
        settles_in = 0.0
        say_it = was_waiting  # a running request's worker says so on its status itself
    await session.commit()
    if not cancelled:
        await acknowledge(callback, texts.not_available())
    else:
        logger.info("request %s: cancelled by the user from /queue", file.id)
        await acknowledge(callback, texts.cancelled())
        if say_it and file.status_message_id is not None:
            await asyncio.sleep(settles_in)  # the edits allowed before the end land first
            await _say_cancelled(bot, file.chat.telegram_id, file.status_message_id, said)
    if isinstance(callback.message, Message):
        text, ids = await hold(lambda: _listing(session, user_row_id), session=session)
        await note(callback.message, text, queue_keyboard(ids) if ids else None)


async def _say_cancelled(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as exc:
        logger.info("chat %s: status %s not edited: %s", chat_id, message_id, exc.message)
