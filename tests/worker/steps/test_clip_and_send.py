"""Step clip and send: the clip cut from the located source, sent as the request's media;
what the offer's lookup found is used while fresh, and looked up again once when its
addresses fail; the duration limit applies to the clip; a clip past the end is a plain
refusal, and so is a clip whose picture has no keyframe near its start."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from mediabot.domain.clips import Clip, media_key_of
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Offer
from mediabot.downloaders.errors import DownloadError, TooLongError
from mediabot.downloaders.streams import StreamPlan
from mediabot.media.fragments.playlist import FragmentTrack
from mediabot.media.sources import SegmentedSource, SplitSource
from mediabot.worker.steps.clip_and_send import NO_KEYFRAME, PAST_END, clip_and_send
from mediabot.worker.steps.fetch_and_send import Fetching
from tests.support.media import CLIP_DURATION, MediaSources, sparse_keyframe_hls
from tests.worker.steps.worker_fakes import FakeDownloader, World, sent_part, stream_plan

_FOUND = {"at": 1.0, "info": {"id": "x"}}


def _world(media: MediaSources, clip: Clip) -> World:
    """A video request for `clip` of the local 10-minute clip source, on an offer whose
    lookup found `_FOUND`."""
    world = World()
    request = replace(
        world.request,
        kind=MediaKind.VIDEO,
        resolution=90,
        media_key=media_key_of("generic:x", clip),
        title=f"✂ {clip.label} Clip source",
        offer=Offer(heights=(90,), found=_FOUND),
    )
    source = SplitSource(
        (media.path(media.clip["mp4"]),), MediaKind.VIDEO, duration_s=CLIP_DURATION
    )
    plan = dataclasses.replace(stream_plan(None), source=source, duration_s=CLIP_DURATION)
    world = World(request=request, requests=world.requests, downloaders=world.downloaders)
    world.downloaders.downloader.plan = plan
    return world


def _unreadable(downloader: FakeDownloader) -> StreamPlan:
    """`downloader`'s plan with an address nothing answers at (an expired one)."""
    assert downloader.plan is not None
    gone = SplitSource(("http://127.0.0.1:9/expired.mp4",), MediaKind.VIDEO)
    return dataclasses.replace(downloader.plan, source=gone)


def _fetching(world: World, tmp_path: Path) -> Fetching:
    return Fetching(world.downloaders, world.senders, tmp_path, 10**9)


async def test_the_clip_is_cut_and_sent_as_the_requests_media(
    media: MediaSources, tmp_path: Path
) -> None:
    clip = Clip(301, 321)
    world = _world(media, clip)
    world.senders.fresh_script = ([sent_part(0)], None)
    await clip_and_send(world.job, _fetching(world, tmp_path), clip)
    assert world.senders.calls == [("fresh", None)]
    assert world.requests.history == [RequestState.UPLOADING, RequestState.DELIVERED]
    duration = world.requests.values[world.request.id]["duration_s"]
    assert isinstance(duration, float) and 20 <= duration <= 21.5
    assert world.downloaders.downloader.downloads == 0  # nothing but the clip was read
    assert world.downloaders.found == [_FOUND]  # the offer's lookup, not a second one


async def test_an_address_of_the_offer_that_fails_is_looked_up_again_once(
    media: MediaSources, tmp_path: Path
) -> None:
    clip = Clip(301, 321)
    world = _world(media, clip)
    fresh = world.downloaders.downloader
    stale = FakeDownloader(plan=_unreadable(fresh), reused_lookup=True)
    world.downloaders.downloader, world.downloaders.later = stale, [fresh]
    world.senders.fresh_script = ([sent_part(0)], None)
    await clip_and_send(world.job, _fetching(world, tmp_path), clip)
    assert world.downloaders.found == [_FOUND, None]  # the second one looks the link up
    assert stale.downloads == fresh.downloads == 0  # neither downloaded the whole
    assert world.requests.history == [RequestState.UPLOADING, RequestState.DELIVERED]


async def test_a_source_unread_after_a_lookup_of_its_own_is_downloaded_not_looked_up(
    media: MediaSources, tmp_path: Path
) -> None:
    clip = Clip(301, 321)
    world = _world(media, clip)
    downloader = world.downloaders.downloader
    downloader.plan = _unreadable(downloader)
    downloader.result = DownloadError("Gone.", detail="HTTP Error 404")
    with pytest.raises(DownloadError):
        await clip_and_send(world.job, _fetching(world, tmp_path), clip)
    assert downloader.downloads == 1
    assert world.downloaders.found == [_FOUND]


async def test_the_limit_is_the_clips_to_meet(media: MediaSources, tmp_path: Path) -> None:
    clip = Clip(100, 200)
    world = _world(media, clip)
    world.downloaders.max_clip_s = 60
    with pytest.raises(TooLongError):
        await clip_and_send(world.job, _fetching(world, tmp_path), clip)
    assert world.senders.calls == []


async def test_a_clip_past_the_end_is_refused_plainly(media: MediaSources, tmp_path: Path) -> None:
    clip = Clip(700, 720)
    world = _world(media, clip)
    with pytest.raises(DownloadError) as refused:
        await clip_and_send(world.job, _fetching(world, tmp_path), clip)
    assert refused.value.message_id == PAST_END
    assert world.senders.calls == []


async def test_a_clip_with_no_keyframe_near_its_start_is_refused_plainly(
    media: MediaSources, tmp_path: Path
) -> None:
    clip = Clip(30, 35)
    world = _world(media, clip)
    downloader = world.downloaders.downloader
    assert downloader.plan is not None
    track = FragmentTrack(playlist_url=sparse_keyframe_hls(media, keyframe_every_s=60))
    source = SegmentedSource((track,), MediaKind.VIDEO)
    downloader.plan = dataclasses.replace(downloader.plan, source=source, duration_s=60.0)
    with pytest.raises(DownloadError) as refused:
        await clip_and_send(world.job, _fetching(world, tmp_path), clip)
    assert refused.value.message_id == NO_KEYFRAME
    assert "at 0:30" in refused.value.user_message and "10 seconds" in refused.value.user_message
    assert downloader.downloads == 0  # not downloaded whole to fail the same way
    assert world.senders.calls == []
