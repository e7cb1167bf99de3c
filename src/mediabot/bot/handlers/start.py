"""/start and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from mediabot.bot import texts
from mediabot.config import Settings

router = Router(name="start")


@router.message(CommandStart())
@router.message(Command("help"))
async def show_help(message: Message, settings: Settings) -> None:
    """Say what the bot does, which sites it takes and its limits."""
    await message.answer(
        texts.help_text(settings.max_duration_min),
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
    )
