"""One file from indexes read ahead, on files on disk: what the HTTP tests do not serve.

A progressive MP4 whose `moov` comes after its samples, a fragmented MP4 without a `sidx`
(its fragments found by walking its boxes), and MPEG-TS (no index ahead). Each laid-out
file is written by the spool from a reader of the files, then decoded whole by ffmpeg.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mediabot.media.faststart.boxes import BoxError
from mediabot.media.faststart.index import file_tracks
from mediabot.media.faststart.layout import lay_out
from mediabot.media.faststart.spool import Spool
from mediabot.media.probe import probe
from mediabot.media.tools import FFMPEG, run_tool
from tests.support.media import MediaSources
from tests.support.parts import check_one_file, top_boxes

pytestmark = pytest.mark.integration


class Files:
    """Byte ranges of files on disk, numbered; reads come in small chunks, like a socket's."""

    def __init__(self, *paths: Path) -> None:
        self.paths = paths
        self.reads = 0

    async def read(self, resource: int, offset: int, count: int) -> bytes:
        return b"".join([chunk async for chunk in self.stream(resource, offset, count)])

    def size(self, resource: int) -> int:
        return self.paths[resource].stat().st_size

    async def stream(self, resource: int, offset: int, count: int) -> AsyncIterator[bytes]:
        self.reads += 1
        with self.paths[resource].open("rb") as handle:
            handle.seek(offset)
            while count > 0 and (chunk := handle.read(min(count, 100_000))):
                count -= len(chunk)
                await asyncio.sleep(0)  # let the other lane and the reader run
                yield chunk


async def _written(files: Files, out: Path, lanes: int = 1) -> Path:
    tracks = []
    for resource in range(lanes):
        tracks += await file_tracks(files, resource)
    layout = lay_out(tracks)
    spool = Spool(layout, out, files, lambda resource: resource)
    read = bytearray()

    async def reader() -> None:
        async for chunk in spool.chunks():
            read.extend(chunk)

    try:
        await asyncio.gather(spool.run(), reader())
    finally:
        spool.close()
    assert bytes(read) == await asyncio.to_thread(out.read_bytes)
    assert len(read) == layout.size
    return out


async def test_a_moov_after_the_samples_is_found_and_put_first(
    media: MediaSources, tmp_path: Path
) -> None:
    source = tmp_path / "late.mp4"
    await run_tool(
        [FFMPEG, "-v", "error", "-i", str(media.path(media.long_mp4)), "-c", "copy", str(source)]
    )
    assert top_boxes(source).index(b"moov") > top_boxes(source).index(b"mdat")
    out = await _written(Files(source), tmp_path / "out.mp4")
    await check_one_file(out, 48.0)


async def test_fragments_without_a_sidx_are_found_by_their_boxes(
    media: MediaSources, tmp_path: Path
) -> None:
    source = media.path(media.page_long["fragmented"])
    out = await _written(Files(source), tmp_path / "out.mp4")
    await check_one_file(out, (await probe(source)).duration_s or 0.0)


async def test_a_pair_of_inputs_is_read_in_two_lanes_and_interleaved(
    media: MediaSources, tmp_path: Path
) -> None:
    folder = media.path(media.long_dash_mpd).parent
    files = Files(folder / "video-720p.mp4", folder / "audio.m4a")
    out = await _written(files, tmp_path / "out.mp4", lanes=2)
    await check_one_file(out, 48.0)


async def test_mpeg_ts_has_no_index_ahead(media: MediaSources) -> None:
    with pytest.raises(BoxError):
        await file_tracks(Files(media.path(media.page_long["ts"])), 0)
