"""Users: who wrote to the bot, their language, their settings and their ban."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Unpack

from sqlalchemy import select, update

from mediabot.db.base import utcnow
from mediabot.db.models import User
from mediabot.db.repositories._common import Repository
from mediabot.db.upserts import dialect_insert
from mediabot.domain.preferences import Preferences, PreferencesChange

SETTINGS_ORDER_WINDOW = timedelta(days=1)
"""How long the update that set a setting keeps earlier presses from changing it: longer
than Telegram redelivers an update, shorter than the week of silence after which it may
number updates afresh."""


@dataclass(frozen=True, slots=True)
class TelegramUser:
    telegram_id: int
    first_name: str = ""
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None


class UserRepository(Repository):
    """`users` rows, keyed by Telegram id."""

    async def upsert(self, user: TelegramUser) -> uuid.UUID:
        """Insert or refresh a user by Telegram id; returns its UUID."""
        now = utcnow()
        values = {
            "first_name": user.first_name,
            "username": user.username,
            "last_name": user.last_name,
            "language_code": user.language_code,
            "updated_at": now,
        }
        statement = (
            dialect_insert(self._session, User)
            .values(id=uuid.uuid4(), telegram_id=user.telegram_id, created_at=now, **values)
            .on_conflict_do_update(index_elements=[User.telegram_id], set_=values)
            .returning(User.id)
        )
        return (await self._session.execute(statement)).scalar_one()  # type: ignore[no-any-return]

    async def lock(self, user_id: uuid.UUID) -> None:
        """Hold the user's row until the transaction ends (PostgreSQL; SQLite writers are
        serialised anyway): a count of their requests then stays true until the commit."""
        # SQLite's dialect leaves FOR UPDATE out.
        await self._session.execute(select(User.id).where(User.id == user_id).with_for_update())

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return await self._session.scalar(select(User).where(User.telegram_id == telegram_id))

    async def language(self, user_id: uuid.UUID) -> str | None:
        """The language the user chose with /language; None: never chose one."""
        return await self._session.scalar(select(User.language).where(User.id == user_id))

    async def set_language(self, user_id: uuid.UUID, language: str | None) -> None:
        await self._session.execute(
            update(User).where(User.id == user_id).values(language=language, updated_at=utcnow())
        )

    async def preferences(self, user_id: uuid.UUID) -> Preferences:
        """The user's /settings; a user with no row gets the defaults."""
        row = (
            await self._session.execute(
                select(User.default_choice, User.delivery_form).where(User.id == user_id)
            )
        ).one_or_none()
        if row is None:
            return Preferences()
        return Preferences(default=row.default_choice, form=row.delivery_form)

    async def set_preferences(
        self,
        user_id: uuid.UUID,
        *,
        update_id: int | None = None,
        **change: Unpack[PreferencesChange],
    ) -> None:
        """Change the settings given (`PreferencesChange`), each unless a later Telegram
        update than `update_id` set it (presses handled side by side land in any order);
        None: whatever set it before. An update id set longer ago than
        `SETTINGS_ORDER_WINDOW` orders nothing: Telegram numbers updates afresh, possibly
        lower, after a week without any."""
        now = utcnow()
        given = (("default_choice", change.get("default")), ("delivery_form", change.get("form")))
        for name, value in given:
            if value is None:
                continue
            setting = getattr(User, name)
            set_by, set_at = getattr(User, f"{name}_update_id"), getattr(User, f"{name}_set_at")
            statement = (
                update(User)
                .where(User.id == user_id)
                .values({setting: value, set_by: update_id, set_at: now, User.updated_at: now})
                .execution_options(synchronize_session=False)
            )
            if update_id is not None:
                statement = statement.where(
                    set_by.is_(None) | (set_by < update_id) | (set_at < now - SETTINGS_ORDER_WINDOW)
                )
            await self._session.execute(statement)

    async def is_banned(self, user_id: uuid.UUID) -> bool:
        statement = select(User.banned_at.is_not(None)).where(User.id == user_id)
        return bool(await self._session.scalar(statement))

    async def set_banned(self, telegram_id: int, banned: bool) -> bool:
        """Ban or unban a user by Telegram id; `False` when no such user ever wrote."""
        now = utcnow()
        statement = (
            update(User)
            .where(User.telegram_id == telegram_id)
            .values(banned_at=now if banned else None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]
