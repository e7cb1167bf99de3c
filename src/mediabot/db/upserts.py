"""INSERT ... ON CONFLICT on either database the bot runs on (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def dialect_insert(bind: AsyncSession | AsyncConnection, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT for the dialect of `bind`."""
    dialect = bind.dialect if isinstance(bind, AsyncConnection) else bind.get_bind().dialect
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def taking(insert: Any, key: Any, columns: Iterable[str], *, where: Any) -> Any:
    """`insert` (the dialect's INSERT with its values) that overwrites the row with the
    same `key` (a unique column) in `columns` where `where` holds, returning `key` when
    it wrote: of several callers taking one row at once, one writes it."""
    return insert.on_conflict_do_update(
        index_elements=[key],
        set_={name: insert.excluded[name] for name in columns if name != key.key},
        where=where,
    ).returning(key)


async def take_row(
    connection: AsyncConnection, key: Any, row: Mapping[str, Any], *, where: Any
) -> bool:
    """Insert `row`, or overwrite the row with the same `key` (a unique column) with it
    where `where` holds; whether `row` was written. One statement (`taking`)."""
    insert = dialect_insert(connection, key.class_).values(**row)
    taken = await connection.execute(taking(insert, key, row, where=where))
    return taken.first() is not None
