"""The migrations: the stairway, and the schema they build on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from mediabot.db.base import Base
from mediabot.db.engine import create_engine
from mediabot.db.migrate import alembic_config, downgrade, upgrade
from mediabot.db.models import RequestRow  # noqa: F401 - registers the tables

TABLES = {"users", "chats", "providers", "playlists", "files", "file_parts", "telegram_budget"}
TABLES |= {"admin_alerts", "updates", "lookup_requests", "lookups"}
KEYED_BY_TELEGRAM_ID = {
    "telegram_budget": "chat_id",
    "admin_alerts": "kind",
    "updates": "update_id",
    "lookups": "url",
}
"""Tables of shared state rather than of our records, keyed by what they are about:
Telegram's own id, the kind of an admins' warning, or the link looked up."""
FOREIGN_KEYS = {
    ("chats", "fk_chats_user_id_users", "users"),
    ("files", "fk_files_chat_id_chats", "chats"),
    ("files", "fk_files_provider_id_providers", "providers"),
    ("files", "fk_files_requested_by_id_users", "users"),
    ("files", "fk_files_playlist_id_playlists", "playlists"),
    ("playlists", "fk_playlists_chat_id_chats", "chats"),
    ("playlists", "fk_playlists_requested_by_id_users", "users"),
    ("file_parts", "fk_file_parts_file_id_files", "files"),
    ("lookup_requests", "fk_lookup_requests_chat_id_chats", "chats"),
    ("lookup_requests", "fk_lookup_requests_user_id_users", "users"),
}


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def _schema(connection: Connection) -> dict[str, object]:
    inspector = inspect(connection)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    foreign_keys = {
        (table, fk["name"], fk["referred_table"])
        for table in tables
        for fk in inspector.get_foreign_keys(table)
    }
    primary_keys = {table: inspector.get_pk_constraint(table) for table in tables}
    id_types = {
        table: next(c["type"] for c in inspector.get_columns(table) if c["name"] == "id")
        for table in tables - set(KEYED_BY_TELEGRAM_ID)
    }
    return {
        "tables": tables,
        "foreign_keys": foreign_keys,
        "primary_keys": primary_keys,
        "id_types": id_types,
    }


async def test_stairway_upgrades_and_downgrades_every_revision(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        revisions = _revisions()
        assert revisions, "no migrations found"
        for index, revision in enumerate(revisions):
            previous = revisions[index - 1] if index else "base"
            await upgrade(engine, revision)
            await downgrade(engine, previous)
            await upgrade(engine, revision)
        async with engine.connect() as connection:
            schema = await connection.run_sync(_schema)
        await downgrade(engine, "base")
        async with engine.connect() as connection:
            emptied = await connection.run_sync(_schema)
    finally:
        await engine.dispose()
    assert schema["tables"] == TABLES
    assert emptied["tables"] == set()


async def test_schema_has_uuid_keys_and_named_foreign_keys(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            schema = await connection.run_sync(_schema)
    finally:
        await engine.dispose()
    assert schema["tables"] == TABLES
    assert schema["foreign_keys"] == FOREIGN_KEYS
    for table, primary_key in schema["primary_keys"].items():  # type: ignore[attr-defined]
        key = KEYED_BY_TELEGRAM_ID.get(table, "id")
        assert primary_key["constrained_columns"] == [key], table
        assert primary_key["name"] in (f"pk_{table}", None), table  # SQLite does not name it
    for table, id_type in schema["id_types"].items():  # type: ignore[attr-defined]
        rendered = str(id_type).upper()
        assert "UUID" in rendered or rendered == "CHAR(32)", (table, rendered)


async def test_migrations_match_the_models(empty_db_url: str) -> None:
    """Autogenerate finds nothing to do: the models and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(empty_db_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:

            def diff(sync_connection: Connection) -> list[object]:
                context = MigrationContext.configure(sync_connection)
                return list(compare_metadata(context, Base.metadata))

            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_migrate_command_creates_the_tables(
    database: str, tmp_path: Path, make_pg_database: object
) -> None:
    """`mediabot migrate` on an empty database, as an operator runs it."""
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = make_pg_database().replace("+asyncpg", "")  # type: ignore[operator]
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
    env.pop("BOT_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "mediabot", "migrate"], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()

    async def tables() -> set[str]:
        engine = create_engine(
            url.replace("sqlite://", "sqlite+aiosqlite://").replace(
                "postgresql://", "postgresql+asyncpg://"
            )
        )
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    import asyncio

    assert asyncio.run(tables()) == TABLES | {"alembic_version"}
