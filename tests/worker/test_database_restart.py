"""A job in flight through a database restart: the file Telegram took while PostgreSQL was
stopped is recorded once it is back, the lease is kept, and nothing is sent twice. A real
pipeline on a PostgreSQL cluster of this module's own (the shared one serves other tests)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram.client.session.aiohttp import AiohttpSession

from mediabot.config import load_settings
from mediabot.db.engine import create_engine, create_session_factory
from mediabot.db.migrate import upgrade
from mediabot.db.models import FilePart
from mediabot.db.repositories import RequestRows
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job
from mediabot.telegram.client import create_bot
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.postgres_cluster import PostgresCluster, running_cluster
from tests.worker.worker_bench import WorkerBench, fast_pacer, until_state

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with running_cluster() as postgres:
        yield postgres


async def test_a_part_sent_while_the_database_is_away_is_recorded_once_it_is_back(
    cluster: PostgresCluster, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    url = await cluster.create_database("worker")
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    await upgrade(engine)
    pacer = fast_pacer()
    settings = load_settings(bot_token=telegram.token, telegram_api_url=telegram.base_url)
    bot = create_bot(settings, pacer=pacer)
    bench = WorkerBench(
        create_session_factory(engine), bot, pacer, telegram, tmp_path, timedelta(seconds=30)
    )
    try:
        request_id = await bench.request(media.long_audio_m4a)
        telegram.upload_bytes_per_second = 400_000  # the upload takes about 4 s
        job = asyncio.create_task(bench.pipeline().handle(Job(request_id)))
        await until_state(bench, request_id, RequestState.UPLOADING)
        await telegram.wait_for(
            lambda call: call.method == "editMessageText" and "Uploading" in call.params["text"],
            timeout=30,
        )
        await asyncio.to_thread(cluster.stop)
        try:
            await telegram.wait_for(lambda call: call.method == "sendAudio" and call.ok, 60)
            await asyncio.wait({job}, timeout=1.0)  # the worker has Telegram's answer by now
            assert not job.done(), job  # ... and waits to record it
        finally:
            await asyncio.to_thread(cluster.start)
        await asyncio.wait_for(job, 60)
        file = await bench.file(request_id)
        assert file.state is RequestState.DELIVERED
        assert len(await _parts(bench, request_id)) == 1
        assert len([call for call in telegram.calls_of("sendAudio") if call.ok]) == 1
    finally:
        assert isinstance(bot.session, AiohttpSession)
        await (await bot.session.create_session()).close()
        await engine.dispose()


async def _parts(bench: WorkerBench, request_id: uuid.UUID) -> list[FilePart]:
    async with bench.sessions() as session:
        return list(await RequestRows(session).parts_of(request_id))
