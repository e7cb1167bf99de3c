"""Which messages are meant for this bot, and who is an admin.

In a private chat everything is. In a group the bot answers only messages with links, its
own commands (aiogram's `Command` filter already refuses `/cmd@other_bot`) and replies to
its own messages; a command addressed to another bot is never its business.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User

from mediabot.config import Settings


def is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


class ForOtherBot(Filter):
    """A message that starts with a command addressed to another bot (`/dl@other_bot`)."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        text = message.text or message.caption or ""
        entities = message.entities or message.caption_entities or []
        first = next((e for e in entities if e.offset == 0 and e.type == "bot_command"), None)
        if first is None:
            return False
        _, _, mention = text[: first.length].partition("@")
        if not mention:
            return False
        me = await bot.me()
        return mention.lower() != (me.username or "").lower()


class RepliesToMe(Filter):
    """A reply to one of this bot's own messages."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        replied = message.reply_to_message
        return (
            replied is not None
            and replied.from_user is not None
            and (replied.from_user.id == bot.id)
        )


class IsAdmin(Filter):
    """The update comes from one of `ADMIN_IDS`."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids
