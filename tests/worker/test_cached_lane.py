"""The cached lane: a request the bot expected Telegram to have is sent from the cache, or
handed to the main lane untouched (its attempt refunded, nothing downloaded or sent); a
main-lane request whose media a twin is fetching waits for it there, not in a download slot."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from mediabot.db.models import FilePart
from mediabot.db.repositories import RequestRows
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.base import DeferJobError
from mediabot.queue.local import LocalJobQueue
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.worker.worker_bench import WorkerBench, until_logged, until_state

pytestmark = pytest.mark.integration


def _recorder() -> tuple[list[Job], Callable[[Job], Awaitable[None]]]:
    published: list[Job] = []

    async def publish(job: Job) -> None:
        published.append(job)

    return published, publish


async def test_the_cache_serves_it_or_the_main_lane_gets_it(
    any_bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    main = LocalJobQueue(max_attempts=4, base_delay_s=0.1)
    pipeline = any_bench.pipeline(hand_over=main.publish)
    first = await any_bench.request(media.audio_m4a)
    media_requests.reset()

    await pipeline.handle_cached(Job(first))

    handed = await any_bench.file(first)
    assert handed.state is RequestState.QUEUED
    assert handed.lease_owner is None and handed.attempts == 0
    assert main.pending == 1
    assert media_requests.request_count() == 0
    assert not any_bench.telegram.calls_of("sendAudio")

    # The main lane delivers it, fetched and uploaded.
    await pipeline.handle(Job(first))
    assert (await any_bench.file(first)).state is RequestState.DELIVERED
    [upload] = any_bench.telegram.calls_of("sendAudio")
    assert upload.files

    # Now Telegram has it: the cached lane sends it by its id, nothing handed over.
    second = await any_bench.request(media.audio_m4a, kind=MediaKind.AUDIO)
    media_requests.reset()
    await pipeline.handle_cached(Job(second))
    assert (await any_bench.file(second)).state is RequestState.DELIVERED
    resend = any_bench.telegram.calls_of("sendAudio", "editMessageMedia")[-1]
    assert not resend.files
    assert resend.sent_file == upload.result["audio"]["file_id"]
    assert media_requests.request_count() == 0
    assert main.pending == 1  # only the first job, not yet taken from this queue
    await main.close()


async def test_a_failed_hand_over_comes_back_to_the_cached_lane_without_an_attempt(
    bench: WorkerBench, media: MediaSources
) -> None:
    main = LocalJobQueue(max_attempts=4, base_delay_s=0.1)
    await main.close()  # publishing now fails, as with the broker down
    request = await bench.request(media.audio_m4a)

    with pytest.raises(DeferJobError, match="main lane"):
        await bench.pipeline(hand_over=main.publish).handle_cached(Job(request))

    file = await bench.file(request)
    assert file.state is RequestState.QUEUED
    assert file.lease_owner is None and file.attempts == 0
    assert bench.leftovers() == []


async def test_the_cached_lane_takes_no_other_request_as_a_fair_turn(
    bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    """Its own request held elsewhere (a main-lane fair turn took it, say), a cached-lane job
    goes on to the main lane as it is: the request left waiting there needs it, and the
    cached lane's slots are not for downloads."""
    download = await bench.request(media.progressive_mp4, kind=MediaKind.VIDEO, resolution=360)
    cached = await bench.request(media.audio_m4a)
    async with bench.sessions.begin() as session:
        assert await RequestRows(session).claim(cached, "worker-2", bench.lease * 60)
    handed, hand_over = _recorder()
    media_requests.reset()
    await bench.pipeline(hand_over=hand_over).handle_cached(Job(cached))

    assert handed == [Job(cached)]
    untouched = await bench.file(download)
    assert untouched.lease_owner is None and untouched.attempts == 0
    assert media_requests.request_count() == 0


async def test_without_a_main_lane_the_cached_lane_does_the_whole_job(
    bench: WorkerBench, media: MediaSources
) -> None:
    request = await bench.request(media.audio_m4a)
    await bench.pipeline().handle_cached(Job(request))
    assert (await bench.file(request)).state is RequestState.DELIVERED
    assert bench.telegram.calls_of("sendAudio")[-1].files


async def _fetching_twin(bench: WorkerBench, url: str) -> uuid.UUID:
    """A request for the same media that another worker is fetching (and never finishes)."""
    twin = await bench.request(url)
    async with bench.sessions.begin() as session:
        files = RequestRows(session)
        assert await files.claim(twin, "worker-2", timedelta(minutes=5))
        assert await files.set_state(twin, RequestState.DOWNLOADING, owner="worker-2")
    return twin


async def test_a_twin_waits_in_the_cached_lane_not_in_a_download_slot(
    bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    await _fetching_twin(bench, media.audio_m4a)
    waiter = await bench.request(media.audio_m4a)
    to_cached, publish = _recorder()
    pipeline = bench.pipeline(
        hand_over=LocalJobQueue(max_attempts=1, base_delay_s=0).publish, to_cached_lane=publish
    )
    media_requests.reset()

    await pipeline.handle(Job(waiter))

    assert to_cached == [Job(waiter)]
    passed = await bench.file(waiter)
    assert passed.lease_owner is None and passed.attempts == 0
    assert media_requests.request_count() == 0


async def test_a_twin_still_fetched_gives_the_cached_slot_up_and_comes_back(
    bench: WorkerBench, media: MediaSources
) -> None:
    await _fetching_twin(bench, media.audio_m4a)
    waiter = await bench.request(media.audio_m4a)
    to_cached, publish = _recorder()
    pipeline = bench.pipeline(
        hand_over=LocalJobQueue(max_attempts=1, base_delay_s=0).publish,
        to_cached_lane=publish,
        cached_twin_wait_s=0.5,
    )
    await pipeline.handle(Job(waiter))
    assert to_cached == [Job(waiter)]

    with pytest.raises(DeferJobError, match="twin"):
        await pipeline.handle_cached(Job(waiter))
    file = await bench.file(waiter)
    assert file.lease_owner is None and file.attempts == 0


async def test_a_twin_fetched_meanwhile_is_sent_from_the_cache_by_the_cached_lane(
    bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    media_requests.throttle_bytes_per_second = 150_000  # the twin's fetch takes a while
    try:
        twin = await bench.request(media.audio_m4a)
        # A lease that outlives any renewal gap under load: the twin is live the whole time.
        live = bench.pipeline(owner="worker-2", lease=timedelta(seconds=30))
        fetching = asyncio.create_task(live.handle(Job(twin)))
        await until_state(bench, twin, RequestState.DOWNLOADING)
        waiter = await bench.request(media.audio_m4a)
        to_cached, publish = _recorder()
        main = LocalJobQueue(max_attempts=1, base_delay_s=0)
        pipeline = bench.pipeline(hand_over=main.publish, to_cached_lane=publish)
        await pipeline.handle(Job(waiter))
        assert to_cached == [Job(waiter)]
        assert not fetching.done(), "the twin's fetch was to be still running"

        await pipeline.handle_cached(Job(waiter))
        await fetching
    finally:
        media_requests.throttle_bytes_per_second = None
    assert (await bench.file(waiter)).state is RequestState.DELIVERED
    upload, resend = bench.telegram.calls_of("sendAudio", "editMessageMedia")
    assert upload.files and not resend.files
    assert resend.sent_file == upload.result["audio"]["file_id"]
    assert main.pending == 0


async def _passed_to_cached_lane(
    bench: WorkerBench, url: str, pipeline_parts: dict[str, object]
) -> uuid.UUID:
    """A request the main lane passed to the cached lane (a twin was being fetched)."""
    waiter = await bench.request(url)
    to_cached, publish = _recorder()
    await bench.pipeline(to_cached_lane=publish, **pipeline_parts).handle(Job(waiter))
    assert to_cached == [Job(waiter)]
    assert (await bench.file(waiter)).state is RequestState.QUEUED, "a waiter is no twin"
    return waiter


async def test_twins_left_by_their_fetcher_make_one_download_not_a_loop(
    bench: WorkerBench, media: MediaSources, caplog: pytest.LogCaptureFixture
) -> None:
    """The twin being fetched stops (its worker died, say) while two wait: the first to look
    fetches, the other waits for that, and the file is uploaded once."""
    main = LocalJobQueue(max_attempts=1, base_delay_s=0)
    parts: dict[str, object] = {"hand_over": main.publish}
    fetcher = await _fetching_twin(bench, media.audio_m4a)
    first = await _passed_to_cached_lane(bench, media.audio_m4a, parts)
    second = await _passed_to_cached_lane(bench, media.audio_m4a, parts)
    _, publish = _recorder()
    pipeline = bench.pipeline(to_cached_lane=publish, **parts)
    waiting = asyncio.create_task(pipeline.handle_cached(Job(second)))
    await until_logged(caplog, f"job {second}: the same media is being fetched")
    async with bench.sessions.begin() as session:
        await RequestRows(session).release(fetcher, "worker-2")  # its worker is gone

    await pipeline.handle_cached(Job(first))  # nothing fetched any more: to the main lane
    assert main.pending == 1
    await pipeline.handle(Job(first))  # fetches: the waiting second is no twin
    assert (await bench.file(first)).state is RequestState.DELIVERED
    try:
        await waiting
    except DeferJobError:  # it looked while the first was still fetching
        await pipeline.handle_cached(Job(second))
    assert (await bench.file(second)).state is RequestState.DELIVERED
    sends = bench.telegram.calls_of("sendAudio", "editMessageMedia")
    assert [bool(call.files) for call in sends] == [True, False]


async def test_twin_waits_hold_no_more_cached_slots_than_allowed(
    bench: WorkerBench, media: MediaSources, caplog: pytest.LogCaptureFixture
) -> None:
    parts: dict[str, object] = {
        "hand_over": LocalJobQueue(max_attempts=1, base_delay_s=0).publish,
        "cached_twin_waits": 1,
        "cached_twin_wait_s": 1.0,
    }
    await _fetching_twin(bench, media.audio_m4a)
    first = await _passed_to_cached_lane(bench, media.audio_m4a, parts)
    second = await _passed_to_cached_lane(bench, media.audio_m4a, parts)
    _, publish = _recorder()
    pipeline = bench.pipeline(to_cached_lane=publish, **parts)
    waiting = asyncio.create_task(pipeline.handle_cached(Job(first)))
    await until_logged(caplog, f"job {first}: the same media is being fetched")

    with pytest.raises(DeferJobError, match="twin"):
        await asyncio.wait_for(pipeline.handle_cached(Job(second)), 0.5)
    with pytest.raises(DeferJobError, match="twin"):
        await waiting
    for request in (first, second):
        file = await bench.file(request)
        assert file.lease_owner is None and file.attempts == 0


async def test_stale_file_ids_go_to_the_main_lane_at_once_whatever_else_is_uploading(
    bench: WorkerBench, media: MediaSources
) -> None:
    """Two users press an old link whose file ids Telegram no longer takes: the one still
    finding that out (uploading) is no fetch to wait for."""
    first = await bench.request(media.audio_m4a)
    await bench.pipeline().handle(Job(first))
    async with bench.sessions.begin() as session:
        await session.execute(
            update(FilePart).where(FilePart.file_id == first).values(telegram_file_id="gone")
        )
    other = await bench.request(media.audio_m4a)
    async with bench.sessions.begin() as session:  # the other user's resend, under way
        files = RequestRows(session)
        assert await files.claim(other, "worker-2", timedelta(minutes=5))
        assert await files.set_state(other, RequestState.UPLOADING, owner="worker-2")
    stale = await bench.request(media.audio_m4a)
    handed, hand_over = _recorder()

    await asyncio.wait_for(bench.pipeline(hand_over=hand_over).handle_cached(Job(stale)), 5)

    assert handed == [Job(stale)]
    assert (await bench.file(stale)).state is RequestState.QUEUED
