"""ffprobe facts and Telegram-ready thumbnails, on media made by the bench."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediabot.media.probe import ProbeError, probe, read_packets
from mediabot.media.thumbnail import MAX_BYTES, MAX_SIDE_PX, best_thumbnail, video_thumbnail
from tests.support.media import MediaSources


async def test_probe_reads_streams_and_duration_of_a_file_and_a_url(media: MediaSources) -> None:
    for source in (media.path(media.long_mp4), media.long_mp4):
        info = await probe(source)
        assert info.video is not None
        assert (info.video.width, info.video.height) == (1280, 720)
        assert info.audio is not None
        assert info.duration_s is not None
        assert 47 <= info.duration_s <= 49


async def test_packets_of_a_window_show_keyframes(media: MediaSources) -> None:
    info = await probe(media.long_mp4)
    assert info.video is not None
    packets = await read_packets(
        media.long_mp4, start_s=10.0, span_s=5.0, stream_indexes=(info.video.index,)
    )
    keyframes = [packet.pts_s for packet in packets if packet.keyframe]
    assert keyframes
    assert all(9.9 <= pts <= 16.1 for pts in keyframes)
    assert all(packet.size_bytes > 0 for packet in packets)


async def test_probe_refuses_what_is_not_media(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ProbeError):
        await probe(junk)


def _jpeg_facts(path: Path) -> tuple[bytes, int]:
    data = path.read_bytes()
    return data[:2], len(data)


async def test_a_thumbnail_is_a_small_jpeg(media: MediaSources, tmp_path: Path) -> None:
    out = await video_thumbnail(media.path(media.long_mp4), tmp_path / "thumb.jpg", at_s=3)
    info = await probe(out)
    assert info.streams[0].codec_name == "mjpeg"
    assert info.streams[0].width == MAX_SIDE_PX
    assert (info.streams[0].height or 0) <= MAX_SIDE_PX
    magic, size = _jpeg_facts(out)
    assert magic == b"\xff\xd8"
    assert size < MAX_BYTES


async def test_a_thumbnail_past_the_end_falls_back_to_the_first_frame(
    media: MediaSources, tmp_path: Path
) -> None:
    out = await video_thumbnail(media.path(media.long_mp4), tmp_path / "t.jpg", at_s=10_000)
    assert _jpeg_facts(out)[1] > 0


async def test_a_bad_cover_gives_way_to_a_frame(media: MediaSources, tmp_path: Path) -> None:
    bad_cover = tmp_path / "cover.jpg"
    bad_cover.write_bytes(b"not an image")
    out = await best_thumbnail(
        tmp_path / "t.jpg", image=bad_cover, video=media.path(media.long_mp4)
    )
    assert out == tmp_path / "t.jpg"
    assert await best_thumbnail(tmp_path / "none.jpg", image=bad_cover) is None
