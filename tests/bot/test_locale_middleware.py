"""The locale middleware reads the stored language and holds no connection afterwards."""

from __future__ import annotations

from aiogram.types import User
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.bot.i18n import UserLocaleMiddleware
from mediabot.db.engine import create_session_factory
from mediabot.db.repositories import TelegramUser, UserRepository


async def test_the_stored_language_is_read_and_the_transaction_ended(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        user_id = await UserRepository(session).upsert(TelegramUser(31337, "Ann"))
        await UserRepository(session).set_language(user_id, "ru")
    async with sessions() as session:
        data = {
            "session": session,
            "user_row_id": user_id,
            "event_from_user": User(id=31337, is_bot=False, first_name="Ann", language_code="en"),
        }
        locale = await UserLocaleMiddleware().get_locale(data["event_from_user"], data)
        assert locale == "ru"
        # Many updates wait on lookups at once: none may keep a pooled connection meanwhile.
        assert not session.in_transaction()
