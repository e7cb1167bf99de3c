"""Messages that are a courtesy: their failure is logged and never stops the work.

An answer to a button press only stops the button's spinner, and Telegram refuses it
once the press is a few seconds old ("query is too old", usual after a backlog); a
"Queued" note is overtaken by the worker's own status soon after. Neither may hold up
or stop the recording and publishing of a request, so each gets a short flood-wait
budget (`COURTESY_WAIT_S`) and any refusal is only logged.
"""

from __future__ import annotations

import logging
import time

from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from mediabot.telegram.flood import answer_deadline
from mediabot.telegram.texts import CALLBACK_ANSWER_LIMIT, plain

logger = logging.getLogger(__name__)

COURTESY_WAIT_S = 10.0
"""Longest a courtesy waits out flood control (Telegram drops a press's answer after ~15 s)."""


async def acknowledge(
    callback: CallbackQuery, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer a button press with an optional short note (`alert`: in a box to close);
    a refusal is only logged."""
    try:
        with answer_deadline(time.time() + COURTESY_WAIT_S):
            await callback.answer(
                plain(text, CALLBACK_ANSWER_LIMIT) if text else None, show_alert=alert or None
            )
    except TelegramAPIError as exc:
        logger.info("answering button press %s failed: %s", callback.id, exc.message)


async def edit_in_place(
    message: Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    wait_s: float = COURTESY_WAIT_S,
) -> bool:
    """Edit `message` to `text` (HTML) if Telegram takes it within `wait_s`; False if not.

    `wait_s` only shortens the update's own deadline (`AnswerDeadlineMiddleware`).
    """
    try:
        with answer_deadline(time.time() + wait_s):
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except TelegramAPIError as exc:
        logger.info(
            "chat %s: editing message %s failed: %s",
            message.chat.id,
            message.message_id,
            exc.message,
        )
        return False
    return True
