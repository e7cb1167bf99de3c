"""The catch-all: text without a link, and button presses nobody else understood.

In a group only what is meant for the bot gets the hint: a reply to one of its messages, or
its own /dl without a link; other chatter and commands for other bots get nothing.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, or_f
from aiogram.types import CallbackQuery, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge
from mediabot.bot.filters import ForOtherBot, RepliesToMe
from mediabot.bot.presses import is_offer_press

router = Router(name="fallback")


@router.message(
    F.text | F.caption,
    or_f(F.chat.type == ChatType.PRIVATE, RepliesToMe(), Command("dl")),
    ~ForOtherBot(),
)
async def hint_without_link(message: Message) -> None:
    """Answer text that holds no link with a one-line hint."""
    await message.reply(texts.no_link())


@router.callback_query(~F.func(is_offer_press))
async def refuse_unknown_button(callback: CallbackQuery) -> None:
    """Answer a forged or outdated button press without changing anything (a press on an
    offer's button is answered by its own filter, `bot.presses.OfferPressed`)."""
    await acknowledge(callback, texts.not_available())
