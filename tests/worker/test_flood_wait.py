"""A flood wait longer than the lease (and than the old 180 s cap, scaled down) is sat out:
the lease stays live throughout, the status says why, no attempt is used, nothing is left.
One longer than a slot should wait hands the job back instead, for other chats' jobs."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.base import DeferJobError
from mediabot.queue.local import LocalJobQueue
from mediabot.worker.recovery import Recovery
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.worker.worker_bench import WorkerBench

pytestmark = pytest.mark.integration

RETRY_AFTER_S = 4
LEASE = timedelta(seconds=2)
"""Half the flood wait: the wait outlives any lease not renewed, and a renewal (every third
of the lease) may come late on a loaded machine without the lease running out."""
HAND_BACK_RETRY_AFTER_S = 3


async def test_a_long_flood_wait_is_sat_out_with_the_lease_held(
    bench: WorkerBench, media: MediaSources
) -> None:
    request = await bench.request(media.progressive_mp4, kind=MediaKind.VIDEO, resolution=360)
    bench.telegram.fail_next("sendVideo", error_code=429, retry_after=RETRY_AFTER_S)
    pipeline = bench.pipeline(lease=LEASE)
    started = time.monotonic()
    job = asyncio.create_task(pipeline.handle(Job(request)))
    await bench.telegram.wait_for(lambda call: call.method == "sendVideo", 30)

    # Meanwhile recovery, however eager, finds nothing without an owner to publish again.
    queue = LocalJobQueue(max_attempts=4, base_delay_s=0.1)
    recovery = Recovery(bench.sessions, queue, bench.work_dir, stale_after=timedelta(0))
    while not job.done():
        assert await recovery.republish() == 0
        file = await bench.file(request)
        if file.state is RequestState.DELIVERED:
            break  # recorded (the lease with it); the job is closing its status message
        assert (file.lease_owner, file.state) == ("worker-1", RequestState.UPLOADING)
        await asyncio.sleep(0.3)
    await job  # returned: no retry asked for, no traceback

    assert time.monotonic() - started >= RETRY_AFTER_S
    file = await bench.file(request)
    assert file.state is RequestState.DELIVERED and file.attempts == 1
    assert [call.status for call in bench.telegram.calls_of("sendVideo")] == [429, 200]
    texts = bench.status_texts(file.chat.telegram_id)
    assert any("Telegram asks me to wait 0:04" in text for text in texts), texts
    assert queue.pending == 0
    assert bench.leftovers() == []


async def test_a_flood_wait_longer_than_a_slot_waits_hands_the_job_back(
    bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    """Past `flood_hand_back_s`, the job goes back (no attempt used, nothing left) and
    the slot serves another chat; it comes back, and is handed back again before any
    work, until its chat may be written to; then it is delivered."""
    request = await bench.request(media.progressive_mp4, kind=MediaKind.VIDEO, resolution=360)
    other = await bench.request(media.audio_m4a)
    bench.telegram.fail_next("sendVideo", error_code=429, retry_after=HAND_BACK_RETRY_AFTER_S)
    pipeline = bench.pipeline(flood_hand_back_s=1.0)
    with pytest.raises(DeferJobError):
        await pipeline.handle(Job(request))
    held_until = time.monotonic() + HAND_BACK_RETRY_AFTER_S
    file = await bench.file(request)
    assert file.lease_owner is None and file.attempts == 0
    assert bench.leftovers() == []
    chat = file.chat.telegram_id
    assert any("Telegram asks me to wait 0:03" in text for text in bench.status_texts(chat))

    media_requests.reset()
    with pytest.raises(DeferJobError):  # back at once: handed back again, before any work
        await pipeline.handle(Job(request))
    assert media_requests.request_count() == 0
    assert (await bench.file(request)).attempts == 0

    await pipeline.handle(Job(other))  # the slot serves another chat's job meanwhile
    assert (await bench.file(other)).state is RequestState.DELIVERED
    await asyncio.sleep(max(0.0, held_until - time.monotonic()))
    await pipeline.handle(Job(request))
    file = await bench.file(request)
    assert file.state is RequestState.DELIVERED and file.attempts == 1
    assert [call.status for call in bench.telegram.calls_of("sendVideo")] == [429, 200]
