"""Outer middlewares: the answer deadline of an update; one database session per update,
and the upsert of its user and chat (`visitor_of`: whose)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.bot.access import sent_by_a_person
from mediabot.db.repositories import TelegramChat, TelegramUser
from mediabot.db.visits import Visit, Visitor, Visits
from mediabot.telegram.flood import answer_deadline

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

ANSWER_WINDOW_S = 300.0
"""An interactive answer (status, buttons, refusal) is worth sending until its update is
this old (5 minutes): until then a flood wait is sat out, after it the answer is dropped."""


VISITED_UPDATES = (
    "message",
    "edited_message",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
)
"""The kinds of update whose sender is recorded (`DatabaseMiddleware`): all the bot handles."""


def visitor_of(update: Update, data: dict[str, Any]) -> Visitor | None:
    """Who `update` comes from, to record: a person (`event_from_user`, in `data` from
    aiogram's user context) in the chat they wrote in; None for a kind of update not in
    `VISITED_UPDATES`, or a message sent on behalf of a chat (see `bot.access`)."""
    user: User | None = data.get("event_from_user")
    if user is None or not any(getattr(update, kind) is not None for kind in VISITED_UPDATES):
        return None
    message = update.message or update.edited_message
    if message is not None and not sent_by_a_person(message):
        return None  # a chat's stand-in (@GroupAnonymousBot…) is nobody's row
    chat: Chat | None = data.get("event_chat")
    person = TelegramUser(
        telegram_id=user.id,
        first_name=user.first_name,
        username=user.username,
        last_name=user.last_name,
        language_code=user.language_code,
    )
    if chat is None:
        return Visitor(person)
    return Visitor(person, TelegramChat(telegram_id=chat.id, type=chat.type, title=chat.title))


class AnswerDeadlineMiddleware(BaseMiddleware):
    """Bounds the flood waits of everything a handler sends by the age of its update.

    Outer middleware of `Dispatcher.update`. A message counts from its date (an edited
    message from its edit); a button press (which carries no date) from the moment it
    arrived here. Requests the handler
    makes inside are retried through flood waits until `ANSWER_WINDOW_S` after that,
    then given up (`telegram.flood.answer_deadline`).
    """

    def __init__(
        self, window_s: float = ANSWER_WINDOW_S, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._window_s = window_s
        self._clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        born = self._clock()
        if isinstance(event, Update):
            if event.message is not None:
                born = min(born, event.message.date.timestamp())
            elif event.edited_message is not None:  # an edit counts from when it was made
                edited = event.edited_message
                made = float(edited.edit_date) if edited.edit_date else edited.date.timestamp()
                born = min(born, made)
        with answer_deadline(born + self._window_s):
            return await handler(event, data)


class DatabaseMiddleware(BaseMiddleware):
    """Opens one session per update and records (upserts) the update's user and chat.

    Outer middleware of the observers of `VISITED_UPDATES`. Whom it records is
    `visitor_of`'s to say.

    The upsert is one round trip of its own, outside the session (`db.visits`), or none
    when the update's claim recorded it already (`bot.claims`: `visit` in the handler
    data); it gives the handlers `user_row_id`, `chat_row_id` and `visit` (what the user's
    row says: their language, their ban), so that neither the locale nor the access check
    reads it again. The session's transactions are the use cases' to end
    (`bot.usecases.ports`); whatever is left uncommitted is rolled back.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._visits: Visits | None = None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self._sessions() as session:
            data["session"] = session
            visit: Visit | None = data.get("visit")
            if visit is None:
                update = data.get("event_update")
                visitor = visitor_of(update, data) if isinstance(update, Update) else None
                if visitor is not None:
                    visit = await self._visits_of(session).record(visitor.user, visitor.chat)
                    data["visit"] = visit
            if visit is not None:
                data["user_row_id"] = visit.user_row_id
                if visit.chat_row_id is not None:
                    data["chat_row_id"] = visit.chat_row_id
            return await handler(event, data)

    def _visits_of(self, session: AsyncSession) -> Visits:
        if self._visits is None:
            engine = session.bind
            assert isinstance(engine, AsyncEngine), "sessions are bound to one engine"
            self._visits = Visits(engine)
        return self._visits
