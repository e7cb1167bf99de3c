"""/start and /help; in a group /start is one line on what the bot answers there."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType, ParseMode
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from mediabot.bot import clip_texts, texts
from mediabot.config import Settings

router = Router(name="start")


@router.message(CommandStart(), F.chat.type != ChatType.PRIVATE)
async def show_group_hint(message: Message) -> None:
    """/start in a group: one line (with privacy mode on the bot sees commands and replies)."""
    await message.answer(texts.group_start())


@router.message(CommandStart())
@router.message(Command("help"))
async def show_help(message: Message, settings: Settings) -> None:
    """Say what the bot does, which sites it takes and its limits."""
    help_text = texts.help_text(settings.max_duration_min, settings.playlist_max_items)
    await message.answer(
        f"{help_text}\n\n{clip_texts.help_more()}",
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
    )
