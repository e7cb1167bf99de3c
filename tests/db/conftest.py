"""Fixtures of the database tests."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.db.engine import create_session_factory


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test's freshly migrated database (each supported database in turn)."""
    return create_session_factory(engine)
