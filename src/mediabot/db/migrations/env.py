"""Alembic environment: uses the connection it is given, or opens one from the URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from mediabot.db.base import Base
from mediabot.db.engine import create_engine
from mediabot.db.models import RequestRow  # noqa: F401 - registers every table on Base.metadata

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure)
    finally:
        await engine.dispose()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        from mediabot.config import load_settings

        url = load_settings().effective_database_url
    asyncio.run(_run_from_url(url))


def _run_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
