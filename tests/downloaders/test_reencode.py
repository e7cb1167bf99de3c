"""The rare re-encode: a source with no H.264/AAC becomes an MP4 every client plays."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from mediabot.downloaders import ffmpeg
from mediabot.downloaders.errors import DownloadError


@pytest.fixture
def vp9_webm(tmp_path: Path) -> Path:
    path = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
         "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus", str(path)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path


async def test_vp9_and_opus_become_h264_and_aac(vp9_webm: Path) -> None:
    before = await ffmpeg.probe(vp9_webm)
    assert (before.video_codec, before.audio_codec) == ("vp9", "opus")
    assert not before.playable_everywhere
    target = await ffmpeg.reencode_to_h264(vp9_webm, before)
    after = await ffmpeg.probe(target)
    assert (after.video_codec, after.audio_codec) == ("h264", "aac")
    assert (after.width, after.height) == (320, 240)
    assert after.playable_everywhere
    assert not await asyncio.to_thread(vp9_webm.exists)


async def test_an_unreadable_file_has_no_facts_and_cannot_be_reencoded(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not media")
    facts = await ffmpeg.probe(junk)
    assert facts == ffmpeg.FileFacts()
    with pytest.raises(DownloadError):
        await ffmpeg.reencode_to_h264(junk, facts)
    assert not (tmp_path / "junk.h264.mp4").exists()
