"""A clip of HLS fragments that do not start with a keyframe (against what HLS asks): the
picture is read from the nearest earlier fragment holding one, never started after the
asked time; with none that near, the clip is refused plainly, not cut far from it.

The sources are a minute of 2 s TS segments cut by time (`split_by_time`), not at
keyframes, made here and served by the loopback media server through the guard.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mediabot.domain.clips import Clip
from mediabot.domain.enums import MediaKind
from mediabot.media.clips.cutter import cut_clip
from mediabot.media.clips.fetch import KEYFRAME_BACK_S, NoKeyframeError
from mediabot.media.fragments.playlist import FragmentTrack
from mediabot.media.sources import SegmentedSource
from tests.media.clips.test_cut_clips import _files, _guard
from tests.support.media import MediaSources, sparse_keyframe_hls
from tests.support.media_server import MediaServer


def _source(url: str) -> SegmentedSource:
    return SegmentedSource((FragmentTrack(playlist_url=url),), MediaKind.VIDEO, url_check=_guard())


def _segments_read(server: MediaServer) -> list[str]:
    return sorted(
        request.path.rsplit("/", 1)[1] for request in server.requests if ".ts" in request.path
    )


async def test_a_picture_is_read_from_the_fragment_with_the_keyframe_before(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = sparse_keyframe_hls(
        media, keyframe_every_s=8
    )  # keyframes at 0, 8, 16 ...; 13 s is in seg006
    media_requests.reset()
    clip = await cut_clip(_source(url), Clip(13, 18), tmp_path)
    assert clip.start_s == pytest.approx(8.0, abs=0.05)  # the keyframe before, not 16 s after
    # seg006 and seg005 looked at for a keyframe, seg004 holds it; each read once
    assert _segments_read(media_requests) == [f"seg{number:03d}.ts" for number in range(4, 9)]


async def test_a_picture_with_no_keyframe_near_before_the_start_is_refused(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = sparse_keyframe_hls(media, keyframe_every_s=60)  # one keyframe, at 0
    media_requests.reset()
    with pytest.raises(NoKeyframeError) as refused:
        await cut_clip(_source(url), Clip(30, 35), tmp_path)
    assert refused.value.at_s == 30 and refused.value.searched_s == KEYFRAME_BACK_S
    # the clip's own (fetched together), then back to the one starting 10 s before, no further
    assert _segments_read(media_requests) == [f"seg{number:03d}.ts" for number in range(10, 18)]
    assert _files(tmp_path) == []  # nothing left behind
