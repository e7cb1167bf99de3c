"""Rows the database tests start from: a user with their private chat, and a request."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.db.models import RequestRow
from mediabot.db.repositories import (
    ChatRepository,
    ProviderRepository,
    RequestRepository,
    TelegramChat,
    TelegramUser,
    UserRepository,
)
from mediabot.domain.enums import Provider, RequestState


async def add_user_and_chat(session: AsyncSession, telegram_id: int) -> tuple[uuid.UUID, uuid.UUID]:
    """The user with this Telegram id (named Ann) and their private chat; their UUIDs."""
    user_id = await UserRepository(session).upsert(TelegramUser(telegram_id, "Ann"))
    chat_id = await ChatRepository(session).upsert(TelegramChat(telegram_id, "private"), user_id)
    return user_id, chat_id


async def add_request(
    session: AsyncSession, telegram_id: int = 1, key: str = "youtube:abc", **fields: Any
) -> RequestRow:
    """A YouTube request for the media `key` by the user `telegram_id` in their private
    chat; an offer unless `fields` say otherwise (they override any column)."""
    user_id, chat_id = await add_user_and_chat(session, telegram_id)
    values: dict[str, Any] = {
        "chat_id": chat_id,
        "provider_id": await ProviderRepository(session).id_of(Provider.YOUTUBE),
        "requested_by_id": user_id,
        "request_url": f"https://youtu.be/{key.split(':', 1)[-1]}",
        "media_key": key,
        "state": RequestState.OFFERED,
    }
    return await RequestRepository(session).add(RequestRow(**(values | fields)))
