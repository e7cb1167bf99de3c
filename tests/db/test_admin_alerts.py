"""The admins' warnings claimed in the database: one claim per kind per hour, whoever asks.

Separate engines on one database stand for separate processes; the hour is moved by moving
the stored time back (the ledger reads the database's own clock).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.db.alerts import DatabaseAlertLedger
from mediabot.db.repositories import TelegramUser, UserRepository
from tests.support.fleet import age_admin_alerts, alert_ledger, fleet_engines

HOUR = 3600.0
KINDS = ("youtube_bot_check", "instagram_login")


@pytest.fixture
async def engines(make_pg_database: Callable[[], str]) -> AsyncIterator[list[AsyncEngine]]:
    """A migrated PostgreSQL database, and an engine on it per process (three)."""
    async with fleet_engines(make_pg_database, 3) as engines:
        yield engines


async def _claims(ledgers: list[DatabaseAlertLedger], kind: str, each: int = 4) -> int:
    """How many of `each` claims per ledger, all asked at once, were granted."""
    granted = await asyncio.gather(
        *(ledger.claim(kind, HOUR) for ledger in ledgers for _ in range(each))
    )
    return sum(granted)


async def test_of_processes_claiming_at_once_exactly_one_gets_each_kinds_hour(
    engines: list[AsyncEngine],
) -> None:
    ledgers = [alert_ledger(engine) for engine in engines]
    assert [await _claims(ledgers, kind) for kind in KINDS] == [1, 1]
    await age_admin_alerts(engines[0], HOUR - 5)
    assert [await _claims(ledgers, kind) for kind in KINDS] == [0, 0]
    await age_admin_alerts(engines[0], 5)
    assert [await _claims(ledgers, kind) for kind in KINDS] == [1, 1]
    assert [await _claims(ledgers, kind) for kind in KINDS] == [0, 0]


async def test_one_claim_per_kind_per_hour_on_either_database(engine: AsyncEngine) -> None:
    ledger = alert_ledger(engine)
    assert await _claims([ledger], "youtube_age") == 1
    assert await ledger.claim("youtube_members", HOUR)  # another kind has its own hour
    await age_admin_alerts(engine, HOUR - 5)
    assert not await ledger.claim("youtube_age", HOUR)
    await age_admin_alerts(engine, 5)
    assert await ledger.claim("youtube_age", HOUR)


async def test_languages_are_the_users_choice_and_telegrams(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        users = UserRepository(session)
        chose = await users.upsert(TelegramUser(701, language_code="en"))
        await users.set_language(chose, "ru")
        await users.upsert(TelegramUser(702, language_code="ru-RU"))
        await users.upsert(TelegramUser(703))
    languages = await DatabaseAlertLedger(sessions).languages((701, 702, 703, 704))
    assert languages == {701: ("en", "ru"), 702: ("ru-RU", None), 703: (None, None)}
    assert await DatabaseAlertLedger(sessions).languages(()) == {}
