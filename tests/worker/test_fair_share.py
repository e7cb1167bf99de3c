"""One user's slow sources cannot hold every slot: their requests beyond
`max_running_per_user` wait their turn (no attempt used) while other users' are worked on."""

from __future__ import annotations

import asyncio

import pytest

from mediabot.db.repositories import RequestRows
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.local import LocalJobQueue
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.worker.worker_bench import WorkerBench, until_state

pytestmark = pytest.mark.integration


async def test_another_users_small_file_does_not_wait_for_a_slow_users_second_request(
    bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    media_requests.throttle_bytes_per_second = 300_000  # the long video takes ~30 s
    slow_user = 830_000_001
    first, second = [
        await bench.request(media.long_mp4, kind=MediaKind.VIDEO, resolution=720, user=slow_user)
        for _ in range(2)
    ]
    other = await bench.request(media.audio_m4a)
    queue = LocalJobQueue(max_attempts=4, base_delay_s=0.1, defer_delay_s=0.2)
    for request in (first, second, other):
        await queue.publish(Job(request))
    pipeline = bench.pipeline(max_running_per_user=1)
    consumer = asyncio.create_task(queue.consume(pipeline.handle, pipeline.on_dead_letter, 2))
    try:
        await until_state(bench, other, RequestState.DELIVERED, timeout_s=20)
        waiting = await bench.file(second)
        assert (await bench.file(first)).state is RequestState.DOWNLOADING
        assert waiting.state is RequestState.QUEUED
        assert waiting.attempts == 0 and waiting.lease_owner is None
        assert queue.dead_letters == []
    finally:
        async with bench.sessions.begin() as session:
            for request in (first, second):
                await RequestRows(session).set_state(request, RequestState.CANCELLED)
        media_requests.throttle_bytes_per_second = None
        await queue.stop(10)
        await consumer
        await queue.close()
    assert bench.leftovers() == []
