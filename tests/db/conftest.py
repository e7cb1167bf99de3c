"""Databases for the db tests: a migrated SQLite file and a migrated PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, make_pg_database: Callable[[], str]
) -> str:
    """An empty database URL, once for each supported database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'mediabot.db'}"
    return make_pg_database()


@pytest.fixture
async def engine(empty_db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a freshly migrated database."""
    engine = create_engine(empty_db_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()
