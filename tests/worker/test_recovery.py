"""Nothing stuck: a pending request without a live owner is published again, or ended with a
reason once out of attempts; work folders a killed worker left are swept. Both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from mediabot.db.base import utcnow
from mediabot.db.models import RequestRow
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.local import LocalJobQueue
from mediabot.worker.recovery import Recovery
from mediabot.worker.texts import sorry
from tests.support.media import MediaSources
from tests.worker.worker_bench import WorkerBench, until_state

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3


async def _force(bench: WorkerBench, request_id: uuid.UUID, **values: Any) -> None:
    """Write a row's columns directly, as a crash (or a hand) would leave them."""
    async with bench.sessions.begin() as session:
        await session.execute(
            update(RequestRow).where(RequestRow.id == request_id).values(**values)
        )


def _recovery(bench: WorkerBench, queue: LocalJobQueue) -> Recovery:
    return Recovery(
        bench.sessions,
        queue,
        bench.work_dir,
        stale_after=timedelta(minutes=3),
        max_attempts=MAX_ATTEMPTS,
        give_up=bench.pipeline().on_dead_letter,
    )


async def _queued_jobs(queue: LocalJobQueue) -> list[Job]:
    jobs = []
    while queue.pending:
        jobs.append(Job.decode(queue._deliveries.get_nowait()))
    return jobs


async def test_requests_without_a_live_owner_are_published_again_or_ended(
    any_bench: WorkerBench, media: MediaSources
) -> None:
    bench = any_bench
    long_ago = utcnow() - timedelta(minutes=10)
    dead_worker = await bench.request(media.audio_m4a, state=RequestState.DOWNLOADING)
    await _force(
        bench,
        dead_worker,
        lease_owner="dead-worker",
        lease_expires_at=utcnow() - timedelta(seconds=1),
        attempts=1,
    )
    ownerless = await bench.request(media.audio_m4a, state=RequestState.UPLOADING)
    await _force(bench, ownerless, lease_owner=None, lease_expires_at=None, updated_at=long_ago)
    owner_but_no_lease = await bench.request(media.audio_m4a, state=RequestState.QUEUED)
    await _force(
        bench, owner_but_no_lease, lease_owner="ghost", lease_expires_at=None, updated_at=long_ago
    )
    spent = await bench.request(media.audio_m4a, state=RequestState.UPLOADING)
    await _force(
        bench,
        spent,
        lease_owner="dead-worker",
        lease_expires_at=utcnow() - timedelta(seconds=1),
        attempts=MAX_ATTEMPTS,
    )
    on_its_way = await bench.request(media.audio_m4a, state=RequestState.QUEUED)
    held = await bench.request(media.audio_m4a, state=RequestState.DOWNLOADING)
    await _force(bench, held, lease_owner="alive", lease_expires_at=utcnow() + timedelta(minutes=1))

    queue = LocalJobQueue(max_attempts=MAX_ATTEMPTS, base_delay_s=0.1)
    assert await _recovery(bench, queue).republish() == 3
    jobs = {job.request_id: job.attempt for job in await _queued_jobs(queue)}
    assert jobs == {dead_worker: 2, ownerless: 1, owner_but_no_lease: 1}
    for request_id in jobs:
        file = await bench.file(request_id)
        assert file.lease_owner is None and file.lease_expires_at is None
        assert not file.state.is_final

    ended = await bench.file(spent)
    assert ended.state is RequestState.FAILED and "given up" in (ended.error_reason or "")
    assert bench.status_texts(ended.chat.telegram_id)[-1] == f"❌ {sorry()}"
    assert (await bench.file(on_its_way)).state is RequestState.QUEUED
    assert (await bench.file(held)).lease_owner == "alive"
    # Published once: the next round does not publish them again at once.
    assert await _recovery(bench, queue).republish() == 0


async def test_a_killed_workers_folders_are_swept_and_its_request_delivered(
    any_bench: WorkerBench, media: MediaSources
) -> None:
    bench = any_bench
    crashed = await bench.request(media.audio_m4a, state=RequestState.DOWNLOADING)
    await _force(
        bench,
        crashed,
        lease_owner="killed",
        lease_expires_at=utcnow() - timedelta(seconds=1),
        attempts=1,
    )
    busy = await bench.request(media.progressive_mp4, state=RequestState.DOWNLOADING)
    await _force(bench, busy, lease_owner="alive", lease_expires_at=utcnow() + timedelta(minutes=1))
    left = bench.work_dir / str(crashed) / ".download-abc123"
    left.mkdir(parents=True)
    (left / "video.f137.mp4.part").write_bytes(b"\0" * 1000)
    (bench.work_dir / str(crashed) / "thumb.jpg").write_bytes(b"\xff\xd8")
    in_use = bench.work_dir / str(busy) / "video.mp4"
    in_use.parent.mkdir(parents=True)
    in_use.write_bytes(b"\0" * 10)
    foreign = bench.work_dir / "not-a-request"
    foreign.write_text("someone else's")

    queue = LocalJobQueue(max_attempts=MAX_ATTEMPTS, base_delay_s=0.1)
    recovery = _recovery(bench, queue)
    assert await recovery.sweep_work_dir() == 1
    assert not (bench.work_dir / str(crashed)).exists()
    assert in_use.exists() and foreign.exists()

    assert await recovery.republish() == 1
    pipeline = bench.pipeline()
    consumer = asyncio.create_task(queue.consume(pipeline.handle, pipeline.on_dead_letter, 1))
    await until_state(bench, crashed, RequestState.DELIVERED)
    await queue.stop(5)
    await consumer
    assert (await bench.file(crashed)).attempts == 2
    assert bench.leftovers() == sorted([foreign, in_use.parent, in_use])


async def test_a_request_telegram_has_the_file_of_goes_to_the_cached_lane(
    bench: WorkerBench, media: MediaSources
) -> None:
    delivered = await bench.request(media.audio_m4a)
    await bench.pipeline().handle(Job(delivered))
    assert (await bench.file(delivered)).state is RequestState.DELIVERED
    long_ago = utcnow() - timedelta(minutes=10)
    resend = await bench.request(media.audio_m4a)
    fetch = await bench.request(media.progressive_mp4)
    for request_id in (resend, fetch):
        await _force(bench, request_id, updated_at=long_ago)
    main = LocalJobQueue(max_attempts=MAX_ATTEMPTS, base_delay_s=0.1)
    cached = LocalJobQueue(max_attempts=MAX_ATTEMPTS, base_delay_s=0.1)
    recovery = Recovery(bench.sessions, main, bench.work_dir, cached_queue=cached)

    assert await recovery.republish() == 2

    assert [job.request_id for job in await _queued_jobs(cached)] == [resend]
    assert [job.request_id for job in await _queued_jobs(main)] == [fetch]
