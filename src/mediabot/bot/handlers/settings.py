"""/settings: the user's default choice and form of files, shown with ✓ and changed by
a press. A press changes only the settings of the user it was shown to."""

from __future__ import annotations

import uuid

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, Update

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, edit_in_place
from mediabot.bot.keyboards import SettingsData, settings_keyboard
from mediabot.bot.usecases.ports import Ports
from mediabot.bot.usecases.settings import change_settings, read_settings

router = Router(name="settings")


@router.message(Command("settings"))
async def show_settings(
    message: Message, ports: Ports, user_row_id: uuid.UUID | None = None
) -> None:
    """Show the sender's settings with their buttons."""
    if user_row_id is None or message.from_user is None:
        await message.answer(texts.not_available())
        return
    preferences = await read_settings(ports, user_row_id)
    await message.answer(
        texts.settings(preferences),
        parse_mode=ParseMode.HTML,
        reply_markup=settings_keyboard(message.from_user.id, preferences),
    )


@router.callback_query(SettingsData.filter())
async def change_setting(
    callback: CallbackQuery,
    callback_data: SettingsData,
    ports: Ports,
    event_update: Update,
    user_row_id: uuid.UUID | None = None,
) -> None:
    """Store the setting pressed and show the settings again (`SettingsData` parses only
    the values the settings take); of presses in a burst, the last one pressed stays."""
    if callback_data.user_id != callback.from_user.id:
        await acknowledge(callback, texts.not_your_settings(), alert=True)
        return
    if user_row_id is None:
        await acknowledge(callback, texts.not_available())
        return
    preferences = await change_settings(
        ports,
        user_row_id,
        update_id=event_update.update_id,
        default=callback_data.default,
        form=callback_data.form,
    )
    await acknowledge(callback, texts.settings_saved())
    if isinstance(callback.message, Message):
        keyboard = settings_keyboard(callback.from_user.id, preferences)
        await edit_in_place(callback.message, texts.settings(preferences), keyboard)
