"""Chats the bot answers in, and whether Telegram still lets it write there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from mediabot.db.base import utcnow
from mediabot.db.models import Chat
from mediabot.db.repositories._common import Repository
from mediabot.db.upserts import dialect_insert


@dataclass(frozen=True, slots=True)
class TelegramChat:
    telegram_id: int
    type: str
    title: str | None = None


class ChatRepository(Repository):
    """`chats` rows, keyed by Telegram id."""

    async def upsert(self, chat: TelegramChat, user_id: uuid.UUID) -> uuid.UUID:
        """Insert or refresh a chat by Telegram id; its owning user is the first one seen.

        The chat wrote to the bot, so it can be written to again: a block is lifted.
        """
        now = utcnow()
        values = {"type": chat.type, "title": chat.title, "updated_at": now, "blocked_at": None}
        statement = (
            dialect_insert(self._session, Chat)
            .values(
                id=uuid.uuid4(),
                telegram_id=chat.telegram_id,
                user_id=user_id,
                created_at=now,
                **values,
            )
            .on_conflict_do_update(index_elements=[Chat.telegram_id], set_=values)
            .returning(Chat.id)
        )
        return (await self._session.execute(statement)).scalar_one()  # type: ignore[no-any-return]

    async def by_telegram_id(self, telegram_id: int) -> Chat | None:
        return await self._session.scalar(select(Chat).where(Chat.telegram_id == telegram_id))

    async def mark_blocked(self, chat_id: uuid.UUID) -> None:
        """Telegram refused to let the bot write to this chat: stop trying until it writes."""
        now = utcnow()
        statement = (
            update(Chat)
            .where(Chat.id == chat_id, Chat.blocked_at.is_(None))
            .values(blocked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)
