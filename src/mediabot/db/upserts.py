"""INSERT ... ON CONFLICT on either database the bot runs on (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def dialect_insert(bind: AsyncSession | AsyncConnection, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT for the dialect of `bind`."""
    dialect = bind.dialect if isinstance(bind, AsyncConnection) else bind.get_bind().dialect
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def take_row(
    connection: AsyncConnection, key: Any, row: Mapping[str, Any], *, where: Any
) -> bool:
    """Insert `row`, or overwrite the row with the same `key` (a unique column) with it
    where `where` holds; whether `row` was written. One statement: of several callers
    taking one row at once, one writes it."""
    insert = dialect_insert(connection, key.class_).values(**row)
    taken = await connection.execute(
        insert.on_conflict_do_update(
            index_elements=[key],
            set_={name: insert.excluded[name] for name in row if name != key.key},
            where=where,
        ).returning(key)
    )
    return taken.first() is not None
