"""An update's user and chat recorded, and what their rows say read back, in one go."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.db.models import Chat, User
from mediabot.db.repositories import ChatRepository, TelegramChat, TelegramUser, UserRepository
from mediabot.db.visits import Visits

GROUP_ID = -1_001_234_567_890
"""A supergroup's id: past 32 bits."""


async def test_a_first_visit_records_the_user_and_the_chat(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    visit = await Visits(engine).record(
        TelegramUser(7, "Ann", "ann", "A", "de"), TelegramChat(GROUP_ID, "supergroup", "G")
    )
    assert visit.language is None and not visit.banned
    async with sessions() as session:
        user = await session.get(User, visit.user_row_id)
        chat = await session.scalar(select(Chat).where(Chat.telegram_id == GROUP_ID))
    assert user is not None and chat is not None
    assert (user.telegram_id, user.first_name, user.username, user.last_name) == (
        7,
        "Ann",
        "ann",
        "A",
    )
    assert user.language_code == "de"
    assert (chat.id, chat.user_id, chat.type, chat.title) == (
        visit.chat_row_id,
        visit.user_row_id,
        "supergroup",
        "G",
    )


async def test_a_later_visit_refreshes_the_rows_and_reads_language_and_ban(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    visits = Visits(engine)
    first = await visits.record(TelegramUser(7, "Ann"), TelegramChat(GROUP_ID, "group", "Old"))
    async with sessions.begin() as session:
        await UserRepository(session).set_language(first.user_row_id, "ru")
        await UserRepository(session).set_banned(7, True)
        assert first.chat_row_id is not None
        await ChatRepository(session).mark_blocked(first.chat_row_id)
    other = await visits.record(TelegramUser(8, "Bob"), TelegramChat(GROUP_ID, "supergroup", "G"))
    again = await visits.record(TelegramUser(7, "Anna"), TelegramChat(GROUP_ID, "supergroup", "G"))
    assert (again.user_row_id, again.chat_row_id) == (first.user_row_id, first.chat_row_id)
    assert other.chat_row_id == first.chat_row_id
    assert again.language == "ru" and again.banned
    assert other.language is None and not other.banned
    async with sessions() as session:
        user = await session.get(User, first.user_row_id)
        chat = await session.get(Chat, first.chat_row_id)
    assert user is not None and user.first_name == "Anna"
    assert chat is not None
    assert chat.user_id == first.user_row_id  # the owner is the first user seen
    assert (chat.type, chat.title, chat.blocked_at) == ("supergroup", "G", None)


async def test_a_visit_without_a_chat_records_the_user_alone(engine: AsyncEngine) -> None:
    visit = await Visits(engine).record(TelegramUser(9, "Cy"), None)
    assert visit.chat_row_id is None and not visit.banned
