"""The tests' long video as YouTube serves it: DASH SegmentBase, one fragmented file per
stream, each with one `sidx` listing its fragments."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import DownloadOptions
from mediabot.downloaders.streams import StreamGuard
from mediabot.media.sources import SplitSource
from mediabot.media.tools import FFMPEG
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer


def segment_base(
    media: MediaSources, server: MediaServer, folder: Path, options: DownloadOptions
) -> SplitSource:
    """A fragmented video file and a fragmented audio file made in `folder` from the long
    video, served by `server`, as one source guarded by `options`."""
    source = media.path(media.long_mp4)
    urls: list[str] = []
    for name, stream in (("video.mp4", "v"), ("audio.m4a", "a")):
        out = folder / name
        subprocess.run(
            [
                *(FFMPEG, "-v", "error", "-y", "-i", str(source), "-map", f"0:{stream}"),
                *("-c", "copy", "-movflags", "+dash+global_sidx", "-f", "mp4", str(out)),
            ],
            check=True,
        )
        urls.append(server.add_file(f"segment-base/{name}", out, "video/mp4"))
    return SplitSource(tuple(urls), MediaKind.VIDEO, url_check=StreamGuard.for_options(options))
