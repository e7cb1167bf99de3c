"""The catch-all: text without a link, a file or a sticker that is no list of links, and
button presses nobody else understood.

In a group only what is meant for the bot gets the hint: a reply to one of its messages, or
its own /dl without a link; other chatter and commands for other bots get nothing.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType, ContentType
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


_SENT_BY_PEOPLE = frozenset(
    {
        ContentType.ANIMATION,
        ContentType.AUDIO,
        ContentType.CONTACT,
        ContentType.DICE,
        ContentType.DOCUMENT,
        ContentType.LOCATION,
        ContentType.PHOTO,
        ContentType.POLL,
        ContentType.STICKER,
        ContentType.VENUE,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.VOICE,
    }
)
"""What a person may send instead of text (a service message is no one's question)."""


@router.message(
    F.content_type.in_(_SENT_BY_PEOPLE),
    or_f(F.chat.type == ChatType.PRIVATE, RepliesToMe()),
    ~ForOtherBot(),
)
async def hint_for_other_content(message: Message) -> None:
    """Answer a file, photo, sticker or voice without a caption (one that is no list of
    links) with the same hint: silence would leave the sender wondering."""
    await message.reply(texts.no_link())


@router.callback_query(~F.func(is_offer_press))
async def refuse_unknown_button(callback: CallbackQuery) -> None:
    """Answer a forged or outdated button press without changing anything (a press on an
    offer's button is answered by its own filter, `bot.presses.OfferPressed`)."""
    await acknowledge(callback, texts.not_available())
