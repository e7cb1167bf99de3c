"""The catch-all: text without a link, and button presses nobody else understood."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge

router = Router(name="fallback")


@router.message(F.text | F.caption)
async def hint_without_link(message: Message) -> None:
    """Answer text that holds no link with a one-line hint."""
    await message.reply(texts.no_link())


@router.callback_query()
async def refuse_unknown_button(callback: CallbackQuery) -> None:
    """Answer a forged or outdated button press without changing anything."""
    await acknowledge(callback, texts.not_available())
