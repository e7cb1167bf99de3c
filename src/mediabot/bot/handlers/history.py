"""/history: a user's delivered files, ten a page, each with a button that sends it again
(`bot.usecases.history`)."""

from __future__ import annotations

import uuid

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, edit_in_place
from mediabot.bot.keyboards import HistoryData, history_keyboard
from mediabot.bot.replies import refuse_by_limits, refused_text
from mediabot.bot.usecases import history
from mediabot.bot.usecases.choose import Refused
from mediabot.bot.usecases.history import Page, Resent, SendingAgain
from mediabot.bot.usecases.limits import Limits
from mediabot.bot.usecases.ports import Ports
from mediabot.config import Settings
from mediabot.db.models import RequestRow
from mediabot.domain.enums import MediaKind

router = Router(name="history")


@router.message(Command("history"))
async def show_history(message: Message, ports: Ports, user_row_id: uuid.UUID) -> None:
    """The first page of the user's delivered files."""
    text, markup = _shown(await history.page(ports, user_row_id, 0))
    await message.answer(text, parse_mode=ParseMode.HTML, reply_markup=markup)


@router.callback_query(HistoryData.filter())
async def on_history_button(
    callback: CallbackQuery,
    callback_data: HistoryData,
    ports: Ports,
    user_row_id: uuid.UUID,
    chat_row_id: uuid.UUID,
    settings: Settings,
) -> None:
    """◀ ▶ turn the page; a file's button sends it again (the owner's files only)."""
    if callback_data.request_id is None:  # a page turn (`HistoryData` names no request)
        text, markup = _shown(await history.page(ports, user_row_id, callback_data.page))
        await acknowledge(callback)
        if isinstance(callback.message, Message):
            await edit_in_place(callback.message, text, markup)
        return

    async def reply(resent: Resent) -> None:
        if isinstance(resent, SendingAgain):
            await acknowledge(callback, texts.sending_again())
        elif isinstance(resent, Refused):
            await acknowledge(callback, refused_text(resent))
        else:
            await refuse_by_limits(callback, resent)

    await history.send_again(
        ports, callback_data.request_id, user_row_id, chat_row_id, Limits.of(settings), reply
    )


def _shown(page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    if not page.pages:
        return texts.history_empty(), None
    lines = [
        texts.history_line(
            number,
            texts.listed_title(file.title),
            _what(file),
            (file.finished_at or file.created_at).strftime("%Y-%m-%d"),
        )
        for number, file in enumerate(page.files, start=page.first)
    ]
    text = "\n".join([texts.history_header(page.page + 1, page.pages), *lines])
    markup = history_keyboard([file.id for file in page.files], page.first, page.page, page.pages)
    return text, markup


def _what(file: RequestRow) -> str:
    if file.kind is MediaKind.VIDEO and file.resolution:
        return f"{file.resolution}p"
    if file.kind is MediaKind.AUDIO:
        return texts.audio_only()
    return str(file.kind or "")
