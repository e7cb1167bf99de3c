"""/queue: a user's requests in flight, newest first, each with its state and a ✖
(`bot.usecases.in_flight`)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiogram import Bot, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, edit_in_place
from mediabot.bot.keyboards import QueueCancelData, queue_keyboard
from mediabot.bot.outages import UpdateHold
from mediabot.bot.replies import in_flight_lines
from mediabot.bot.usecases import in_flight
from mediabot.bot.usecases.in_flight import Cancelled, InFlight, NotYours
from mediabot.bot.usecases.ports import Ports

logger = logging.getLogger(__name__)

router = Router(name="queue")


@router.message(Command("queue"))
async def show_queue(message: Message, ports: Ports, user_row_id: uuid.UUID) -> None:
    """List the user's requests in flight with a ✖ each."""
    text, markup = _shown(await in_flight.listing(ports, user_row_id))
    await message.answer(text, parse_mode=ParseMode.HTML, reply_markup=markup)


@router.callback_query(QueueCancelData.filter())
async def cancel_from_queue(
    callback: CallbackQuery,
    callback_data: QueueCancelData,
    ports: Ports,
    user_row_id: uuid.UUID,
    bot: Bot,
    hold: UpdateHold,
) -> None:
    """Cancel one of the user's requests in flight, then show the list again (read after
    the press was answered: an outage then is waited out there, not by cancelling again)."""
    cancelled = await in_flight.cancel(ports, callback_data.request_id, user_row_id)
    if isinstance(cancelled, NotYours):
        logger.warning("refused cancel %r from user %s", callback.data, callback.from_user.id)
        await acknowledge(callback, texts.not_yours())
        return
    if not isinstance(cancelled, Cancelled):
        await acknowledge(callback, texts.not_available())
    else:
        await acknowledge(callback, texts.cancelled())
        if cancelled.status is not None:
            tally = cancelled.tally
            said = (
                texts.cancelled()
                if tally is None
                else texts.playlist_cancelled(tally.delivered, tally.total)
            )
            await asyncio.sleep(cancelled.settles_in)  # the edits allowed before the end land first
            await _say_cancelled(bot, *cancelled.status, said)
    if isinstance(callback.message, Message):
        listed = await hold(
            lambda: in_flight.listing(ports, user_row_id), session=ports.transaction
        )
        text, markup = _shown(listed)
        await edit_in_place(callback.message, text, markup)


def _shown(listed: list[InFlight]) -> tuple[str, InlineKeyboardMarkup | None]:
    if not listed:
        return texts.queue_empty(), None
    text = "\n".join([texts.queue_header(), *in_flight_lines(listed)])
    return text, queue_keyboard([item.file.id for item in listed])


async def _say_cancelled(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as exc:
        logger.info("chat %s: status %s not edited: %s", chat_id, message_id, exc.message)
