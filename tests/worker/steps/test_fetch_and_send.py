"""Steps fetch and send, stream and send: download or stream, send, resume, fall back."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Offer
from mediabot.domain.preferences import DeliveryForm
from mediabot.downloaders.errors import DownloadError
from mediabot.senders.base import DeliveryError, ResumePoint
from mediabot.worker.request import PlaylistPlace
from mediabot.worker.steps.fetch_and_send import Fetching, fetch_and_send
from mediabot.worker.steps.stream_and_send import worth_streaming
from tests.worker.steps.worker_fakes import World, sent_part, stream_plan

LIMIT = 1000


def _fetching(world: World, tmp_path: Path) -> Fetching:
    return Fetching(world.downloaders, world.senders, tmp_path, LIMIT)


def _large(world: World, estimated: int | None = 2500) -> World:
    """The same world with a request whose offer says it needs parts."""
    request = replace(world.request, offer=Offer(audio=True, audio_size=estimated or 2500))
    return World(request=request, requests=world.requests, downloaders=world.downloaders)


def test_only_a_file_estimated_over_the_limit_is_worth_streaming() -> None:
    world = World()
    assert not worth_streaming(world.request, LIMIT)  # no offer
    item = replace(world.request, playlist=PlaylistPlace(uuid.uuid4(), position=2, total=5))
    assert worth_streaming(item, LIMIT)  # a playlist's item: the source tells
    small = replace(world.request, offer=Offer(audio=True, audio_size=LIMIT))
    assert not worth_streaming(small, LIMIT)
    large = replace(world.request, offer=Offer(audio=True, audio_size=LIMIT + 1))
    assert worth_streaming(large, LIMIT)
    video = replace(
        world.request, kind=MediaKind.VIDEO, resolution=720, offer=Offer(sizes={720: 5000})
    )
    assert worth_streaming(video, LIMIT)
    assert not worth_streaming(replace(video, resolution=360), LIMIT)


async def test_a_download_is_sent_and_the_request_delivered(tmp_path: Path) -> None:
    world = World()
    world.senders.fresh_script = ([sent_part(0)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert world.downloaders.made == [(world.request.url, None, MediaKind.AUDIO)]
    assert world.senders.calls == [("fresh", None)]
    assert world.requests.history == [RequestState.UPLOADING, RequestState.DELIVERED]
    assert world.requests.values[world.request.id]["title"] == "Fetched"
    assert world.status.shown == ["download downloading", "⬆️ Uploading…"]
    assert world.status.removed
    assert (tmp_path / str(world.request.id)).is_dir()  # the pipeline cleans it up


async def test_a_download_resumes_after_the_parts_delivered(tmp_path: Path) -> None:
    world = World()
    world.requests.parts[world.request.id] = [sent_part(0, 3, end_s=10.0)]
    world.senders.fresh_script = ([sent_part(1, 3, 20.0), sent_part(2, 3, 30.0)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert world.senders.calls == [("fresh", ResumePoint(next_index=1, start_s=10.0))]
    assert world.status.shown[-2:] == ["⬆️ Uploading…", "⬆️ Uploading part 3/3…"]


async def test_a_failed_download_is_left_to_the_caller(tmp_path: Path) -> None:
    world = World()
    world.downloaders.downloader.result = DownloadError("Nope.", detail="404")
    with pytest.raises(DownloadError):
        await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert world.senders.calls == []


async def test_a_large_file_is_streamed_and_the_status_counts_the_estimated_parts(
    tmp_path: Path,
) -> None:
    world = _large(World())
    world.downloaders.downloader.plan = stream_plan(estimated_bytes=2500)
    world.senders.stream_script = ([sent_part(0, 3), sent_part(1, 3), sent_part(2, 3)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert world.downloaders.downloader.downloads == 0
    assert world.senders.calls == [("stream", None)]
    # 2500 bytes under a 1000-byte limit: 3 parts, not a hard-coded 2.
    assert world.status.shown[0] == "⬆️ Uploading part 1/3…"
    assert world.requests.history == [RequestState.UPLOADING, RequestState.DELIVERED]


async def test_a_stream_of_unknown_size_shows_no_total(tmp_path: Path) -> None:
    world = _large(World())
    world.downloaders.downloader.plan = stream_plan(estimated_bytes=None)
    world.senders.stream_script = ([sent_part(0, 2), sent_part(1, 2)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert world.status.shown[0] == "⬆️ Uploading part 1…"


async def test_a_plan_under_the_limit_is_downloaded_instead(tmp_path: Path) -> None:
    world = _large(World())
    world.downloaders.downloader.plan = stream_plan(estimated_bytes=LIMIT)
    world.senders.fresh_script = ([sent_part(0)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert [call for call, _ in world.senders.calls] == ["fresh"]


async def test_a_broken_stream_falls_back_to_a_download_after_the_parts_delivered(
    tmp_path: Path,
) -> None:
    world = _large(World())
    world.downloaders.downloader.plan = stream_plan(estimated_bytes=2500)
    world.senders.stream_script = ([sent_part(0, 3, end_s=10.0)], DeliveryError("link expired"))
    world.senders.fresh_script = ([sent_part(1, 3, 20.0), sent_part(2, 3, 30.0)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    assert world.downloaders.downloader.downloads == 1
    assert world.senders.calls == [
        ("stream", None),
        ("fresh", ResumePoint(next_index=1, start_s=10.0)),
    ]
    assert world.requests.history == [
        RequestState.UPLOADING,
        RequestState.DOWNLOADING,
        RequestState.UPLOADING,
        RequestState.DELIVERED,
    ]
    assert [part.index for part in world.requests.parts[world.request.id]] == [0, 1, 2]


async def test_each_delivery_is_asked_in_the_requests_form(tmp_path: Path) -> None:
    as_file = replace(World().request, form=DeliveryForm.DOCUMENT)
    world = World(request=as_file)
    world.senders.fresh_script = ([sent_part(0)], None)
    await fetch_and_send(world.job, _fetching(world, tmp_path))
    streamed = World(request=replace(as_file, offer=Offer(audio=True, audio_size=2500)))
    streamed.downloaders.downloader.plan = stream_plan(2500)
    streamed.senders.stream_script = ([sent_part(0, 3), sent_part(1, 3), sent_part(2, 3)], None)
    await fetch_and_send(streamed.job, _fetching(streamed, tmp_path))
    assert world.senders.forms == [DeliveryForm.DOCUMENT]
    assert streamed.senders.calls == [("stream", None)]
    assert streamed.senders.forms == [DeliveryForm.DOCUMENT]
