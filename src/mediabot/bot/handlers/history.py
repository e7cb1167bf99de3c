"""/history: a user's delivered files, ten a page, each with a button that sends it again.

Sending again is a new request for the same media, kind and resolution, queued like a
press: the worker finds the earlier delivery's Telegram file ids and resends them (no
download, no upload). It counts against the user's requests in flight while it runs.
"""

from __future__ import annotations

import logging
import uuid

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, note
from mediabot.bot.keyboards import HistoryData, history_keyboard
from mediabot.bot.limits import place_still_free, refused_by_limits, refused_when_full
from mediabot.bot.outages import UpdateHold
from mediabot.config import Settings
from mediabot.db.models import File
from mediabot.db.repositories import FileRepository
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.base import JobQueue

logger = logging.getLogger(__name__)

router = Router(name="history")

PAGE_SIZE = 10


def _what(file: File) -> str:
    if file.kind is MediaKind.VIDEO and file.resolution:
        return f"{file.resolution}p"
    if file.kind is MediaKind.AUDIO:
        return texts.audio_only()
    return str(file.kind or "")


async def _page(
    session: AsyncSession, user_id: uuid.UUID, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    files = FileRepository(session)
    delivered, total = await files.delivered_of_user(
        user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    await session.commit()  # end the read before talking to Telegram
    if not total:
        return texts.history_empty(), None
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if page >= pages:  # a page past the end (a forged press, or history that shrank)
        return await _page(session, user_id, pages - 1)
    first = page * PAGE_SIZE + 1
    lines = [
        texts.history_line(
            number,
            texts.listed_title(file.title),
            _what(file),
            (file.finished_at or file.created_at).strftime("%Y-%m-%d"),
        )
        for number, file in enumerate(delivered, start=first)
    ]
    text = "\n".join([texts.history_header(page + 1, pages), *lines])
    return text, history_keyboard([file.id for file in delivered], first, page, pages)


@router.message(Command("history"))
async def show_history(message: Message, session: AsyncSession, user_row_id: uuid.UUID) -> None:
    """The first page of the user's delivered files."""
    text, markup = await _page(session, user_row_id, 0)
    await message.answer(text, parse_mode=ParseMode.HTML, reply_markup=markup)


@router.callback_query(HistoryData.filter())
async def on_history_button(
    callback: CallbackQuery,
    callback_data: HistoryData,
    session: AsyncSession,
    user_row_id: uuid.UUID,
    chat_row_id: uuid.UUID,
    settings: Settings,
    cached_queue: JobQueue,
    hold: UpdateHold,
) -> None:
    """◀ ▶ turn the page; a file's button sends it again (the owner's files only), through
    the workers' cached lane."""
    if callback_data.request_id is None:  # a page turn (`HistoryData` names no request)
        text, markup = await _page(session, user_row_id, callback_data.page)
        await acknowledge(callback)
        if isinstance(callback.message, Message):
            await note(callback.message, text, markup)
        return
    await _send_again(
        callback,
        callback_data.request_id,
        session,
        user_row_id,
        chat_row_id,
        settings,
        cached_queue,
        hold,
    )


async def _send_again(
    callback: CallbackQuery,
    request_id: uuid.UUID,
    session: AsyncSession,
    user_id: uuid.UUID,
    chat_id: uuid.UUID,
    settings: Settings,
    job_queue: JobQueue,
    hold: UpdateHold,
) -> None:
    files = FileRepository(session)
    delivered = await files.get(request_id)
    if (
        delivered is None
        or delivered.requested_by_id != user_id
        or delivered.state is not RequestState.DELIVERED
    ):
        await session.commit()
        logger.warning("refused resend %r from user %s", callback.data, callback.from_user.id)
        await acknowledge(callback, texts.not_available())
        return
    limit = settings.max_active_requests
    if await refused_by_limits(callback, session, user_id, settings):
        return
    if not await place_still_free(session, user_id, limit):
        await session.commit()
        await refused_when_full(callback, session, user_id, limit)
        return
    again = await files.again(delivered, chat_id, user_id)
    await session.commit()
    await acknowledge(callback, texts.sending_again())
    if await hold.publish(job_queue, Job(again.id)):
        logger.info("request %s: %s sent again from the history", again.id, delivered.id)
