"""Step clip and send: the clip cut from the located source, sent as the request's media;
the duration limit applies to the clip; a clip past the end is a plain refusal."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from mediabot.domain.clips import Clip, media_key_of
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.downloaders.errors import DownloadError, TooLongError
from mediabot.media.sources import SplitSource
from mediabot.worker.steps.clip_and_send import PAST_END, clip_and_send
from mediabot.worker.steps.fetch_and_send import Fetching
from tests.support.media import CLIP_DURATION, MediaSources
from tests.worker.steps.worker_fakes import World, sent_part, stream_plan


def _world(media: MediaSources, clip: Clip) -> World:
    """A video request for `clip` of the local 10-minute clip source."""
    world = World()
    request = replace(
        world.request,
        kind=MediaKind.VIDEO,
        resolution=90,
        media_key=media_key_of("generic:x", clip),
        title=f"✂ {clip.label} Clip source",
    )
    source = SplitSource(
        (media.path(media.clip["mp4"]),), MediaKind.VIDEO, duration_s=CLIP_DURATION
    )
    plan = dataclasses.replace(stream_plan(None), source=source, duration_s=CLIP_DURATION)
    world = World(request=request, requests=world.requests, downloaders=world.downloaders)
    world.downloaders.downloader.plan = plan
    return world


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
