"""Fixtures of the worker tests: migrated databases and the worker bench (`worker_bench`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.config import load_settings
from mediabot.db.engine import create_engine, create_session_factory
from mediabot.telegram.client import create_bot
from tests.support.fake_telegram import FakeTelegram
from tests.support.services import MigratedDatabases
from tests.worker.worker_bench import WorkerBench, fast_pacer


@pytest.fixture
async def sqlite_engine(
    tmp_path: Path, migrated_databases: MigratedDatabases
) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_databases.sqlite(tmp_path / "mediabot.db"))
    yield engine
    await engine.dispose()


async def _worker_bench(
    engine: AsyncEngine, telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[WorkerBench]:
    pacer = fast_pacer()
    settings = load_settings(bot_token=telegram.token, telegram_api_url=telegram.base_url)
    # The worker's bot, as the worker process builds it: flood waits without a cap.
    bot = create_bot(settings, pacer=pacer)
    yield WorkerBench(create_session_factory(engine), bot, pacer, telegram, tmp_path / "work")
    # `session.close()` waits 250 ms for TLS connections to drain; none on loopback.
    assert isinstance(bot.session, AiohttpSession)
    client = await bot.session.create_session()
    await client.close()


@pytest.fixture
async def bench(
    sqlite_engine: AsyncEngine, telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[WorkerBench]:
    """The worker bench on SQLite (the pipeline does not care which database it is)."""
    async for made in _worker_bench(sqlite_engine, telegram, tmp_path):
        yield made


@pytest.fixture
async def any_bench(
    engine: AsyncEngine, telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[WorkerBench]:
    """The worker bench on each supported database."""
    async for made in _worker_bench(engine, telegram, tmp_path):
        yield made
