"""The bot's side of `mediabot.i18n`: each update is answered in its user's language."""

from __future__ import annotations

import uuid
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.db.repositories import UserRepository
from mediabot.i18n import i18n, locale_for


class UserLocaleMiddleware(I18nMiddleware):
    """aiogram's i18n middleware choosing the user's `/language`, else Telegram's language.

    An outer middleware registered after `DatabaseMiddleware`, whose session and user row
    it reads; handlers then call ``_()`` (through `bot.texts`) and get the user's language.
    """

    def __init__(self) -> None:
        super().__init__(i18n)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        session: AsyncSession | None = data.get("session")
        user_row_id: uuid.UUID | None = data.get("user_row_id")
        stored = None
        if session is not None and user_row_id is not None:
            stored = await UserRepository(session).language(user_row_id)
            # End the read: the handler may wait on the network (a lookup takes seconds),
            # and a connection held meanwhile by each of many updates drains the pool.
            await session.commit()
        return locale_for(user.language_code if user is not None else None, stored)
