"""A clip against the whole: bytes read and time taken to cut 20 s out of a 10-minute source.

Every layout the clip cutter reads (segmented DASH, HLS TS, a faststart MP4, an MP4 with its
index at the end, a `sidx`-indexed DASH pair) is served by the test media server on loopback,
its output paced as one line of `--throttle-mbps`. For clips at the start, the middle and
near the end of the source it prints the bytes the server sent over the clip's bytes (the
issue's target: at most 1.3) and the time from the call to the clip on disk, next to the
time the whole source takes on the same line (its bytes over the rate: what a download
before the cut costs at least).

Then a press, as the worker makes it, on the links a user sends (a DASH manifest, an HLS
playlist, an MP4 with its index first or last), for the middle clip: the link looked up
once (the offer), then the clip's downloader locating the streams and the cut. It prints
every byte the server sent from the press on (manifests, playlists, probes, indexes,
media) over the clip's bytes, when the press uses what the offer's lookup found, and when
it looks the link up again (the clip path before it reused the offer's lookup).

    .venv/bin/python bench/bench_clips.py [--throttle-mbps 20] [--length 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import yt_dlp  # noqa: E402

from mediabot.domain.clips import Clip  # noqa: E402
from mediabot.domain.enums import MediaKind  # noqa: E402
from mediabot.domain.offer import Offer  # noqa: E402
from mediabot.downloaders import DownloadOptions, get_resolutions, make_downloader  # noqa: E402
from mediabot.media.clips.cutter import cut_clip  # noqa: E402
from mediabot.media.fragments.playlist import Fragment, FragmentTrack  # noqa: E402
from mediabot.media.sources import SegmentedSource, SplitSource  # noqa: E402
from tests.support.media import MediaSources, link_media_tree  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402

STARTS = (0, 301, 570)
"""Where the clips start: the first second, the middle, near the end (seconds)."""


def _dash_tracks(manifest: str) -> tuple[FragmentTrack, ...]:
    with yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True}) as ydl:
        info = ydl.extract_info(manifest, download=False)
    tracks = []
    for fmt in sorted(info["formats"], key=lambda fmt: fmt.get("vcodec") == "none"):
        base = fmt.get("fragment_base_url") or fmt["url"]
        init, *rest = (
            Fragment(urljoin(base, item["path"]), item.get("duration")) for item in fmt["fragments"]
        )
        tracks.append(FragmentTrack(init=init, fragments=tuple(rest)))
    return tuple(tracks)


def _sources(media: MediaSources) -> dict[str, SplitSource | SegmentedSource]:
    clip = media.clip
    return {
        "DASH": SegmentedSource(_dash_tracks(clip["dash"]), MediaKind.VIDEO),
        "HLS TS": SegmentedSource((FragmentTrack(playlist_url=clip["hls"]),), MediaKind.VIDEO),
        "MP4": SplitSource((clip["mp4"],), MediaKind.VIDEO),
        "MP4, index last": SplitSource((clip["moov-last"],), MediaKind.VIDEO),
        "sidx pair": SplitSource((clip["sidx-video"], clip["sidx-audio"]), MediaKind.VIDEO),
    }


def _source_bytes(media: MediaSources, source: SplitSource | SegmentedSource) -> int:
    """The bytes of the whole source (all of its files)."""
    if isinstance(source, SegmentedSource):
        folder = media.path(media.clip["hls" if source.tracks[0].playlist_url else "dash"]).parent
        return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    return sum(media.path(str(url)).stat().st_size for url in source.inputs)


async def _run(server: MediaServer, media: MediaSources, rate: int, length: int) -> None:
    sources = _sources(media)
    server.throttle_bytes_per_second = rate
    server.throttle_is_line = True
    print(f"{'layout':<16} {'clip':>9} {'bytes read / clip':>18} {'clip s':>7} {'whole s':>8}")
    for name, source in sources.items():
        whole_s = _source_bytes(media, source) / rate
        for start in STARTS:
            with tempfile.TemporaryDirectory() as work:
                server.reset()
                began = time.monotonic()
                clip = await cut_clip(source, Clip(start, start + length), Path(work))
                took = time.monotonic() - began
                served = sum(request.bytes_sent for request in server.requests)
            print(
                f"{name:<16} {Clip(start, start + length).label:>9} "
                f"{served / clip.size_bytes:>18.3f} {took:>7.2f} {whole_s:>8.1f}"
            )


async def _press(server: MediaServer, url: str, clip: Clip, *, reuse: bool) -> float:
    """Bytes the server sent from a press on `url`'s fresh offer over the clip's bytes."""
    options = DownloadOptions(allow_private_urls=True, max_duration_s=None)
    found = Offer.of(await get_resolutions(url, options)).found if reuse else None
    with tempfile.TemporaryDirectory() as work:
        server.reset()
        downloader = make_downloader(
            url, None, options=options, kind=MediaKind.VIDEO, found=found, clip=True
        )
        plan = await downloader.locate_streams()
        assert plan is not None, url
        cut = await cut_clip(plan.source, clip, Path(work))
        served = sum(request.bytes_sent for request in server.requests)
    return served / cut.size_bytes


async def _presses(server: MediaServer, media: MediaSources, length: int) -> None:
    clip = Clip(STARTS[1], STARTS[1] + length)
    server.throttle_bytes_per_second = None
    print(f"\npress on a fresh offer, {clip.label}: bytes served from the press / clip")
    print(f"{'link':<16} {'offer reused':>13} {'looked up again':>16}")
    for name, key in (
        ("DASH", "dash"),
        ("HLS TS", "hls"),
        ("MP4", "mp4"),
        ("MP4, index last", "moov-last"),
    ):
        url = media.clip[key]
        reused = await _press(server, url, clip, reuse=True)
        again = await _press(server, url, clip, reuse=False)
        print(f"{name:<16} {reused:>13.3f} {again:>16.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throttle-mbps", type=float, default=20.0)
    parser.add_argument("--length", type=int, default=20, help="seconds of each clip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tree = link_media_tree(Path(folder) / "media")
        with MediaServer(tree) as server:
            media = MediaSources.served_at(server.base_url, tree)
            rate = int(args.throttle_mbps * 1_000_000 / 8)
            asyncio.run(_run(server, media, rate, args.length))
            asyncio.run(_presses(server, media, args.length))


if __name__ == "__main__":
    main()
