"""/language: the user picks English or Russian; the choice is stored and sticks."""

from __future__ import annotations

import uuid

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, edit_in_place
from mediabot.bot.keyboards import LanguageData, language_keyboard
from mediabot.bot.usecases.language import choose_language as store_language
from mediabot.bot.usecases.ports import Ports
from mediabot.i18n import use_locale

router = Router(name="language")


@router.message(Command("language"))
async def offer_languages(message: Message) -> None:
    """Show the languages, one button each."""
    await message.answer(texts.choose_language(), reply_markup=language_keyboard())


@router.callback_query(LanguageData.filter())
async def choose_language(
    callback: CallbackQuery,
    callback_data: LanguageData,
    ports: Ports,
    user_row_id: uuid.UUID | None = None,
) -> None:
    """Store the chosen language on the user and say so in it (`LanguageData` takes only
    the languages the bot speaks)."""
    if user_row_id is None:
        await acknowledge(callback, texts.not_available())
        return
    await store_language(ports, user_row_id, callback_data.locale)
    with use_locale(callback_data.locale):
        text = texts.language_chosen()
    await acknowledge(callback, text)
    if isinstance(callback.message, Message):
        await edit_in_place(callback.message, text)
