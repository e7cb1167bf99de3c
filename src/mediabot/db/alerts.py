"""The admins' warnings claimed in the database: one process of the fleet sends each kind an hour.

A claim is one statement: insert the kind's row, or move its `sent_at` to now only if the
last one is at least the interval old, and say whether a row was written. PostgreSQL
serialises the writers of one row, and the one that waited sees the row the first wrote,
so of any number of processes asking at once exactly one is told yes; SQLite has one
writer at a time anyway. The time is the database's clock, the one all processes share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.models import AdminAlert, User
from mediabot.telegram.alerts import Languages

_UNIX_EPOCH_JULIAN_DAY = 2440587.5


class DatabaseAlertLedger:
    """A `telegram.alerts.AlertLedger` over the `admin_alerts` and `users` tables."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, kind: str, interval_s: float) -> bool:
        async with self._sessions.begin() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            insert: Any = postgresql.insert if postgres else sqlite.insert
            statement = insert(AdminAlert).values(kind=kind, sent_at=_now(postgres))
            statement = statement.on_conflict_do_update(
                index_elements=[AdminAlert.kind],
                set_={"sent_at": statement.excluded.sent_at},
                where=AdminAlert.sent_at <= statement.excluded.sent_at - interval_s,
            ).returning(AdminAlert.kind)
            return (await session.execute(statement)).first() is not None

    async def languages(self, telegram_ids: Sequence[int]) -> Languages:
        if not telegram_ids:
            return {}
        async with self._sessions() as session:
            rows = await session.execute(
                select(User.telegram_id, User.language_code, User.language).where(
                    User.telegram_id.in_(telegram_ids)
                )
            )
            return {row.telegram_id: (row.language_code, row.language) for row in rows}


def _now(postgres: bool) -> Any:
    """Seconds since the epoch on the database's clock."""
    if postgres:
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    return (func.julianday("now") - _UNIX_EPOCH_JULIAN_DAY) * 86400.0
