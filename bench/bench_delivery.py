"""Delivery of a large video: cut-while-uploading from a stream vs the sequential way.

Both ways deliver the bench's long DASH pair (720p H.264 video-only MP4 + AAC M4A, 48 s,
~8.6 MB) to the fake Bot API, with a small upload limit so it goes as several parts:

- sequential: download both files, merge them (`ffmpeg -c copy`), split the whole file
  into parts, then upload each part (deleting it once accepted);
- overlapped: mediabot's `LargeVideoSender` reading the two URLs directly, cutting part
  i+1 while part i uploads, deleting each part once accepted.

Prints, per way, the median wall time, the peak extra disk of the work folder (sampled
every 10 ms) and the peak RSS of this process, then the ratios against the targets
(wall <= 0.8x sequential; disk <= 3 parts for a stream).

    .venv/bin/python bench/bench_delivery.py [--rounds 3] [--limit-mib 2]
        [--download-mbps 0] [--upload-mbps 40]

The fake Bot API answers at once; `--upload-mbps` gives every upload call a latency of
part size / rate, so uploads take the time they would on a link of that speed.
`--download-mbps` throttles the media server the same way (0: loopback speed).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiogram import Bot
from aiogram.types import FSInputFile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from mediabot.config import load_settings  # noqa: E402
from mediabot.domain.enums import MediaKind  # noqa: E402
from mediabot.media.splitter import CutPart, SplitSource, Splitter  # noqa: E402
from mediabot.media.tools import FFMPEG, run_tool  # noqa: E402
from mediabot.senders.base import SendTarget  # noqa: E402
from mediabot.senders.registry import make_stream_sender  # noqa: E402
from mediabot.telegram.client import create_bot  # noqa: E402
from mediabot.telegram.pacing import Pacer, Rate  # noqa: E402
from support.fake_telegram import FakeTelegram  # noqa: E402
from support.media import MediaSources, link_media_tree  # noqa: E402
from support.media_server import MediaServer  # noqa: E402

MIB = 1024 * 1024
CHAT_ID = 4242


@dataclass
class Figures:
    wall_s: float
    peak_disk: int
    peak_rss: int
    parts: int


class Sampler:
    """Samples the work folder's total size and this process's RSS in a thread."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._stop = threading.Event()
        self.peak_disk = 0
        self.peak_rss = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_disk = max(self.peak_disk, _folder_size(self._folder))
            self.peak_rss = max(self.peak_rss, _rss())
            self._stop.wait(0.01)


def _folder_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size
        except OSError:
            continue  # deleted between listing and stat
    return total


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def _download(url: str, out: Path) -> None:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        response.raise_for_status()
        with out.open("wb") as handle:
            async for chunk in response.content.iter_chunked(256 * 1024):
                handle.write(chunk)


async def sequential(bot: Bot, urls: tuple[str, str], work: Path, limit: int) -> int:
    """Download and merge, then split everything, then upload each part."""
    video, audio, merged = work / "video.mp4", work / "audio.m4a", work / "merged.mp4"
    await asyncio.gather(_download(urls[0], video), _download(urls[1], audio))
    await run_tool(
        [
            *(FFMPEG, "-v", "error", "-y", "-i", str(video), "-i", str(audio)),
            *("-map", "0:v:0", "-map", "1:a:0", "-c", "copy", str(merged)),
        ]
    )
    video.unlink()
    audio.unlink()
    splitter = Splitter(SplitSource((merged,), MediaKind.VIDEO), work, stem="seq")
    parts: list[CutPart] = []
    start, index = 0.0, 0
    while True:
        part = await splitter.cut(start, index, limit)
        parts.append(part)
        if part.is_last:
            break
        start, index = part.end_s, index + 1
    for part in parts:
        await bot.send_video(
            chat_id=CHAT_ID,
            video=FSInputFile(part.path),
            caption=f"Part {part.index + 1}/{len(parts)}",
            supports_streaming=True,
        )
        part.path.unlink()
    merged.unlink()
    return len(parts)


async def overlapped(bot: Bot, urls: tuple[str, str], work: Path, limit: int) -> int:
    """mediabot's large sender, reading the two URLs as a stream."""
    sender = make_stream_sender(
        bot,
        SplitSource(urls, MediaKind.VIDEO),
        SendTarget(CHAT_ID, "bench"),
        work_dir=work,
        limit_bytes=limit,
        title="bench",
    )
    return len(await sender.send())


Way = Callable[[Bot, tuple[str, str], Path, int], Awaitable[int]]


async def _measure(way: Way, bot: Bot, urls: tuple[str, str], work: Path, limit: int) -> Figures:
    _prepare(work)
    with Sampler(work) as sampler:
        started = time.perf_counter()
        parts = await way(bot, urls, work, limit)
        wall = time.perf_counter() - started
    leftovers = _listing(work)
    if leftovers:
        raise RuntimeError(f"{way.__name__} left files behind: {leftovers}")
    return Figures(wall, sampler.peak_disk, sampler.peak_rss, parts)


async def _run(args: argparse.Namespace, fake: FakeTelegram, media: MediaSources) -> None:
    base = media.long_mp4.rsplit("/", 1)[0]
    urls = (f"{base}/dash/video-720p.mp4", f"{base}/dash/audio.m4a")
    source_bytes = sum(media.path(url).stat().st_size for url in urls)
    limit = int(args.limit_mib * MIB)
    if args.upload_mbps:
        fake.latency = limit * 0.9 / (args.upload_mbps * 1_000_000 / 8)
    settings = load_settings(bot_token=fake.token, telegram_api_url=fake.base_url)
    # pacing is the same for both ways; one chat at 1 msg/s would only add equal waits
    pacer = Pacer(per_chat=Rate(1000.0, burst=100))
    bot = create_bot(settings, pacer=pacer)
    results: dict[str, list[Figures]] = {"sequential": [], "overlapped": []}
    ways: list[tuple[str, Way]] = [("sequential", sequential), ("overlapped", overlapped)]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-delivery-") as scratch:
            for round_number in range(args.rounds):
                order = ways if round_number % 2 == 0 else list(reversed(ways))
                for name, way in order:
                    work = Path(scratch) / f"{name}-{round_number}"
                    results[name].append(await _measure(way, bot, urls, work, limit))
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        await bot.session.close()

    def median(name: str, attribute: str) -> float:
        return statistics.median(getattr(figure, attribute) for figure in results[name])

    print(
        f"source: long DASH pair 720p, 48 s, {source_bytes / MIB:.1f} MiB; limit "
        f"{args.limit_mib:g} MiB; download "
        f"{f'{args.download_mbps:g} Mbit/s' if args.download_mbps else 'loopback'}; upload "
        f"{f'{args.upload_mbps:g} Mbit/s' if args.upload_mbps else 'instant'}; "
        f"{args.rounds} rounds"
    )
    for name in results:
        print(
            f"{name:>10}: wall {median(name, 'wall_s'):.2f} s, peak extra disk "
            f"{median(name, 'peak_disk') / MIB:.1f} MiB "
            f"({median(name, 'peak_disk') / limit:.2f} parts), peak RSS "
            f"{median(name, 'peak_rss') / MIB:.0f} MiB, {median(name, 'parts'):.0f} parts"
        )
    wall_ratio = median("overlapped", "wall_s") / median("sequential", "wall_s")
    disk_parts = median("overlapped", "peak_disk") / limit
    print(f"wall ratio overlapped/sequential: {wall_ratio:.2f} (target <= 0.80)")
    print(f"overlapped peak disk: {disk_parts:.2f} parts (target <= 3)")
    print(
        "disk ratio overlapped/sequential: "
        f"{median('overlapped', 'peak_disk') / median('sequential', 'peak_disk'):.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit-mib", type=float, default=2.0)
    parser.add_argument("--download-mbps", type=float, default=0.0)
    parser.add_argument("--upload-mbps", type=float, default=40.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-delivery-media-") as scratch:
        tree = Path(scratch) / "media"
        tree.mkdir()
        link_media_tree(tree)
        with (
            MediaServer(tree) as server,
            FakeTelegram(Path(scratch) / "telegram") as fake,
        ):
            if args.download_mbps:
                server.throttle_bytes_per_second = int(args.download_mbps * 1_000_000 / 8)
            media = MediaSources.served_at(server.base_url, server.root)
            asyncio.run(_run(args, fake, media))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
