"""Step: where an inline request's file goes (its inline message), and the way to the private
chat when the file comes in parts."""

from __future__ import annotations

from aiogram import Bot

from mediabot.domain.inline import start_payload
from mediabot.senders.base import InlinePlace
from mediabot.worker import texts
from mediabot.worker.request import Request


async def inline_place(bot: Bot, request: Request) -> InlinePlace | None:
    """None for a request made in a chat; `/start inline_<request>` in the private chat
    sends an inline request's parts."""
    if request.inline_message_id is None:
        return None
    me = await bot.me()
    return InlinePlace(
        message_id=request.inline_message_id,
        too_large_text=texts.inline_too_large(),
        private_button=texts.inline_in_private_chat(),
        private_link=f"https://t.me/{me.username}?start={start_payload(request.id)}",
    )
