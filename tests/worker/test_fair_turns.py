"""Fair turns (a second user's request starts second, not after the first user's burst) and
the free disk guard (jobs wait, no attempt used, the status saying so)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from mediabot.db.models import RequestRow
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.local import LocalJobQueue
from tests.support.media import MediaSources
from tests.worker.worker_bench import WorkerBench, new_telegram_id, until_state

pytestmark = pytest.mark.integration


async def test_one_slot_serves_the_second_user_second(
    any_bench: WorkerBench, media: MediaSources
) -> None:
    bench = any_bench
    first_user, second_user = new_telegram_id(), new_telegram_id()
    sources = (media.audio_m4a, media.progressive_mp4, media.hls_master)
    burst = [
        await bench.request(url, kind=MediaKind.VIDEO, resolution=360, user=first_user)
        if url != media.audio_m4a
        else await bench.request(url, user=first_user)
        for url in sources
    ]
    late = await bench.request(
        media.dash_mpd, kind=MediaKind.VIDEO, resolution=360, user=second_user
    )
    queue = LocalJobQueue(max_attempts=4, base_delay_s=0.1, defer_delay_s=0.2)
    for request in (*burst, late):
        await queue.publish(Job(request))
    pipeline = bench.pipeline(max_running_per_user=1)
    consumer = asyncio.create_task(queue.consume(pipeline.handle, pipeline.on_dead_letter, 1))
    try:
        for request in (*burst, late):
            await until_state(bench, request, RequestState.DELIVERED, timeout_s=60)
    finally:
        await queue.stop(10)
        await consumer
        await queue.close()
    files = {request: await bench.file(request) for request in (*burst, late)}
    # Each request went through the downloading state (cache misses: distinct media).
    order = sorted(files, key=lambda request: _started(files[request]))
    assert order == [burst[0], late, burst[1], burst[2]]
    assert all(file.attempts == 1 for file in files.values())
    assert queue.dead_letters == []
    assert bench.leftovers() == []


def _started(file: RequestRow) -> datetime:
    assert file.fetch_started_at is not None
    return file.fetch_started_at


async def test_a_full_disk_makes_jobs_wait_without_an_attempt(
    bench: WorkerBench, media: MediaSources
) -> None:
    request = await bench.request(media.audio_m4a)
    free = {"bytes": 10}
    queue = LocalJobQueue(max_attempts=2, base_delay_s=0.1, defer_delay_s=0.2)
    await queue.publish(Job(request))
    pipeline = bench.pipeline(min_free_disk_bytes=1000, free_disk_bytes=lambda _path: free["bytes"])
    consumer = asyncio.create_task(queue.consume(pipeline.handle, pipeline.on_dead_letter, 1))
    try:
        await asyncio.sleep(1.5)  # several deferrals, more than the attempt limit
        waiting = await bench.file(request)
        for _ in range(100):  # between two deferrals (a claim holds it for a moment)
            if waiting.lease_owner is None:
                break
            await asyncio.sleep(0.01)
            waiting = await bench.file(request)
        assert waiting.state is RequestState.QUEUED
        assert waiting.attempts == 0 and waiting.lease_owner is None
        chat = (await bench.file(request)).chat.telegram_id
        assert any("disk space" in text for text in bench.status_texts(chat))
        free["bytes"] = 10_000
        await until_state(bench, request, RequestState.DELIVERED, timeout_s=30)
    finally:
        await queue.stop(10)
        await consumer
        await queue.close()
    assert queue.dead_letters == []
