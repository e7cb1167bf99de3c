"""Who is served: people (not chats), the allowlists (`ALLOWED_USER_IDS`,
`ALLOWED_CHAT_IDS`) and bans.

An inner middleware: it runs only for updates a handler took, so in a group the chatter
the bot ignores anyway never draws a refusal. Admins are always served. Anyone else who is
refused is told in one line, once (remembered in this process; a restart may tell them
again), and then ignored; a button press is always answered, so its spinner stops.

A message sent on behalf of a chat is served by no handler (`sent_by_a_person`): an
anonymous group admin, a channel writing in a group or its discussion group, or a linked
channel's post forwarded there by Telegram. It has no person behind it (older clients
send no `from` at all; newer ones a stand-in bot such as @GroupAnonymousBot, shared by
every anonymous admin), so there is nobody to own a request, press its buttons or count
against a limit: no user row is recorded for it (`DatabaseMiddleware`), and when a handler
would have taken it, it gets one line saying to send it as oneself. A linked channel's
forwarded posts get nothing: nobody typed them to the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChosenInlineResult,
    InlineQuery,
    InlineQueryResultsButton,
    Message,
    TelegramObject,
    User,
)

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge
from mediabot.config import Settings
from mediabot.db.visits import Visit
from mediabot.telegram.texts import plain

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_MAX_REMEMBERED = 100_000
"""Refusals remembered before the memory starts afresh (each person may be told again)."""


class _Refusal(StrEnum):
    STRANGER = "stranger"
    BANNED = "banned"


class AccessMiddleware(BaseMiddleware):
    """Serves allowed, unbanned users (and admins); tells anyone else once."""

    def __init__(self) -> None:
        self._told: set[tuple[_Refusal, int]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and not sent_by_a_person(event):
            await _refuse_chat(event)
            return None
        settings: Settings = data["settings"]
        user: User | None = data.get("event_from_user")
        if user is None or user.id in settings.admin_ids:
            return await handler(event, data)
        refusal = self._refusal(settings, user, data)
        if refusal is None:
            return await handler(event, data)
        if isinstance(event, InlineQuery | ChosenInlineResult):
            # Inline mode: an empty answer saying so (every time: it is only a hint).
            logger.info("user %s refused in inline mode (%s)", user.id, refusal)
            await refuse_inline(event, texts.inline_not_available())
            return None
        key = (refusal, user.id)
        told = key in self._told
        if not told:
            if len(self._told) >= _MAX_REMEMBERED:
                self._told.clear()
            self._told.add(key)
            logger.info("user %s refused (%s)", user.id, refusal)
        text = None if told else _text(refusal)
        if isinstance(event, CallbackQuery):
            await acknowledge(event, text)
        elif isinstance(event, Message) and text is not None:
            try:
                await event.reply(text)
            except TelegramAPIError as exc:
                logger.info("telling user %s failed: %s", user.id, exc.message)
        return None

    def _refusal(self, settings: Settings, user: User, data: dict[str, Any]) -> _Refusal | None:
        chat: Chat | None = data.get("event_chat")
        limited = settings.allowed_user_ids or settings.allowed_chat_ids
        if (
            limited
            and user.id not in settings.allowed_user_ids
            and (chat is None or chat.id not in settings.allowed_chat_ids)
        ):
            return _Refusal.STRANGER
        visit: Visit | None = data.get("visit")  # the user's row, as `DatabaseMiddleware` read it
        if visit is not None and visit.banned:
            return _Refusal.BANNED
        self._told.discard((_Refusal.BANNED, user.id))  # unbanned: a new ban is told again
        return None


def sent_by_a_person(message: Message) -> bool:
    """Whether a person sent `message` as themselves (not on behalf of a chat)."""
    return message.from_user is not None and message.sender_chat is None


async def _refuse_chat(message: Message) -> None:
    """Tell whoever sent `message` on behalf of a chat to send it as themselves (a linked
    channel's forwarded post gets nothing)."""
    sender = message.sender_chat.id if message.sender_chat is not None else None
    logger.info("chat %s: message sent on behalf of chat %s not served", message.chat.id, sender)
    if message.is_automatic_forward:
        return
    try:
        await message.reply(texts.sent_on_behalf_of_a_chat())
    except TelegramAPIError as exc:
        logger.info("telling chat %s failed: %s", message.chat.id, exc.message)


def _text(refusal: _Refusal) -> str:
    return texts.not_allowed() if refusal is _Refusal.STRANGER else texts.banned()


_BUTTON_TEXT_LIMIT = 64


async def refuse_inline(event: InlineQuery | ChosenInlineResult, text: str) -> None:
    """An inline query answered with no results and `text` on the button above them; a
    chosen result's message edited to `text`. A refusal of Telegram's is only logged."""
    try:
        if isinstance(event, InlineQuery):
            button = InlineQueryResultsButton(
                text=plain(text, _BUTTON_TEXT_LIMIT), start_parameter="inline"
            )
            await event.answer([], cache_time=5, is_personal=True, button=button)
        elif event.inline_message_id is not None and event.bot is not None:
            await event.bot.edit_message_text(text=text, inline_message_id=event.inline_message_id)
    except TelegramAPIError as exc:
        logger.info("refusing user %s in inline mode failed: %s", event.from_user.id, exc.message)
