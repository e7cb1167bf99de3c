"""Delivery of a large video from every kind of source: cut while it arrives vs sequential.

The bench makes one source (the tests' long 720p video, looped to `--minutes`) and serves
it as every kind a site hands over: a progressive MP4, a video-only MP4 plus an M4A (as
YouTube does), an HLS playlist of TS segments, one of fMP4 segments, and segmented DASH
(video and audio fragments). Each kind is delivered to the fake Bot API in parts under
`--limit-mib`, two ways:

- streamed: mediabot's large sender, cutting parts while the source arrives (the plain
  files through the range cache, fragments through the segment splitter), every request
  through the guard proxy, each part deleted once accepted;
- sequential: download everything (fragments concatenated), merge with `ffmpeg -c copy`,
  split the file, then upload each part.

The media server's output is one line of `--download-mibps` (shared by all connections)
and the fake Bot API takes uploads one at a time at `--upload-mibps`, so the line's floor
is max(source bytes / download rate, uploaded bytes / upload rate). Each delivery runs in
a child process: its peak RSS (VmHWM) is the worker's memory; the work folder is sampled
every 10 ms for the peak disk. Prints, per kind: press -> last part, its ratio to the
floor (target <= 1.2), the sequential way's time, peak disk in parts (target <= 3) and
peak memory. `--memory` instead delivers the HLS kind of a 20 MB and of a 1 GB source
(`--big-mib`) and compares the peak memory (target: within 10 %).

`--one-part` delivers a source of `--source-mib` that fits one upload (`--limit-mib`, 50 by
default then) from each kind a site serves it as: progressive MP4, DASH SegmentBase (a
fragmented video file and audio file, each with a `sidx`, as YouTube serves them),
segmented DASH, HLS fMP4 and audio only. Streamed, the file goes up while it is fetched;
sequential, it is downloaded, merged and then uploaded. Target: press -> last byte within
1.2x the floor. With `--limit-mib 10` the same source goes in parts (target 1.3x).

    .venv/bin/python bench/bench_delivery.py [--minutes 8] [--limit-mib 16]
        [--download-mibps 24] [--upload-mibps 12] [--kinds hls-ts,dash] [--memory]
    .venv/bin/python bench/bench_delivery.py --one-part [--source-mib 28] [--limit-mib 50]
        [--download-mibps 20] [--upload-mibps 10]

`--no-sequential` measures the streamed way alone (the sequential way of a 600 MB source
takes minutes); `--timeline` prints each part's cut (none when the parts are planned from
the index) and upload.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiogram.types import FSInputFile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mediabot.config import load_settings  # noqa: E402
from mediabot.domain.enums import MediaKind  # noqa: E402
from mediabot.downloaders.options import DownloadOptions  # noqa: E402
from mediabot.downloaders.streams import StreamGuard  # noqa: E402
from mediabot.media.cutters.files import Splitter  # noqa: E402
from mediabot.media.cutters.fragments import SegmentSplitter  # noqa: E402
from mediabot.media.fragments.playlist import (  # noqa: E402
    Fragment,
    FragmentTrack,
    parse_media_playlist,
)
from mediabot.media.parts import CutPart  # noqa: E402
from mediabot.media.sources import SegmentedSource, SplitSource  # noqa: E402
from mediabot.media.tools import FFMPEG, run_tool  # noqa: E402
from mediabot.senders.base import SendTarget  # noqa: E402
from mediabot.senders.large import LargeAudioSender, LargeVideoSender  # noqa: E402
from mediabot.senders.registry import make_stream_sender  # noqa: E402
from mediabot.telegram.client import create_bot  # noqa: E402
from mediabot.telegram.pacing import Pacer, Rate  # noqa: E402
from tests.support.fake_telegram import FakeTelegram  # noqa: E402
from tests.support.media import cache_root, link_media_tree  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402

MIB = 1024 * 1024
CHAT_ID = 4242
KINDS = ("progressive", "video+audio", "hls-ts", "hls-fmp4", "dash")
ONE_PART_KINDS = ("progressive", "segment-base", "dash", "hls-fmp4", "audio")
SEGMENT_S = 6


# ---- the sources --------------------------------------------------------------------------


def _ffmpeg(*args: str, cwd: Path) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-nostdin", "-y", *args], cwd=cwd, check=True)


def build_sources(folder: Path, long_mp4: Path, loops: int, *, only_hls: bool = False) -> None:
    """The long video looped `loops` times, as every kind (all `-c copy`), or only the
    source and its HLS TS playlist."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("hls-ts", "hls-fmp4", "dash"):
        (folder / sub).mkdir(exist_ok=True)
    _ffmpeg(
        *("-stream_loop", str(loops - 1), "-i", str(long_mp4), "-c", "copy"),
        *("-movflags", "+faststart", "source.mp4"),
        cwd=folder,
    )
    hls = ("-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_playlist_type", "vod")
    _ffmpeg(
        *("-i", "source.mp4", "-c", "copy", *hls),
        *("-hls_segment_filename", "hls-ts/seg%05d.ts", "hls-ts/index.m3u8"),
        cwd=folder,
    )
    if only_hls:
        return
    _ffmpeg("-i", "source.mp4", "-map", "0:v", "-c", "copy", "video.mp4", cwd=folder)
    _ffmpeg("-i", "source.mp4", "-map", "0:a", "-c", "copy", "audio.m4a", cwd=folder)
    _ffmpeg(
        *("-i", "source.mp4", "-c", "copy", *hls, "-hls_segment_type", "fmp4"),
        *("-hls_fmp4_init_filename", "init.mp4"),
        *("-hls_segment_filename", "hls-fmp4/seg%05d.m4s", "hls-fmp4/index.m3u8"),
        cwd=folder,
    )
    _ffmpeg(
        *("-i", "source.mp4", "-map", "0:v", "-map", "0:a", "-c", "copy", "-f", "dash"),
        *("-seg_duration", str(SEGMENT_S), "-use_template", "1", "-use_timeline", "0"),
        *("-adaptation_sets", "id=0,streams=v id=1,streams=a", "dash/manifest.mpd"),
        cwd=folder,
    )


def build_segment_base(folder: Path) -> None:
    """The source's video and audio as YouTube serves them: fragmented files with a `sidx`."""
    if (folder / "sb-audio.m4a").exists():
        return
    for stream, name in (("v", "sb-video.mp4"), ("a", "sb-audio.m4a")):
        _ffmpeg(
            *("-i", "source.mp4", "-map", f"0:{stream}", "-c", "copy"),
            *("-movflags", "+dash+global_sidx", "-f", "mp4", name),
            cwd=folder,
        )


def _dash_track(folder: Path, base: str, stream: int) -> FragmentTrack:
    """The DASH representation's fragments, as yt-dlp lists them (init, then media)."""
    names = sorted(p.name for p in (folder / "dash").glob(f"chunk-stream{stream}-*.m4s"))
    return FragmentTrack(
        init=Fragment(f"{base}/dash/init-stream{stream}.m4s"),
        fragments=tuple(Fragment(f"{base}/dash/{name}", float(SEGMENT_S)) for name in names),
    )


def source_for(kind: str, folder: Path, base: str, guard: StreamGuard) -> Any:
    if kind == "progressive":
        return SplitSource((f"{base}/source.mp4",), MediaKind.VIDEO, url_check=guard)
    if kind == "video+audio":
        urls = (f"{base}/video.mp4", f"{base}/audio.m4a")
        return SplitSource(urls, MediaKind.VIDEO, url_check=guard)
    if kind == "segment-base":
        urls = (f"{base}/sb-video.mp4", f"{base}/sb-audio.m4a")
        return SplitSource(urls, MediaKind.VIDEO, url_check=guard)
    if kind == "audio":
        return SplitSource((f"{base}/audio.m4a",), MediaKind.AUDIO, url_check=guard)
    if kind == "dash":
        tracks = (_dash_track(folder, base, 0), _dash_track(folder, base, 1))
    else:
        tracks = (FragmentTrack(playlist_url=f"{base}/{kind}/index.m3u8"),)
    return SegmentedSource(tracks, MediaKind.VIDEO, url_check=guard)


def source_bytes(kind: str, folder: Path) -> int:
    if kind == "progressive":
        return (folder / "source.mp4").stat().st_size
    if kind == "video+audio":
        return sum((folder / name).stat().st_size for name in ("video.mp4", "audio.m4a"))
    if kind == "segment-base":
        return sum((folder / name).stat().st_size for name in ("sb-video.mp4", "sb-audio.m4a"))
    if kind == "audio":
        return (folder / "audio.m4a").stat().st_size
    if kind == "hls-fmp4":  # only what a delivery reads: the playlist and the fragments
        return sum(path.stat().st_size for path in (folder / kind).iterdir())
    return sum(path.stat().st_size for path in (folder / kind).iterdir())


# ---- the two ways (in the child process) ---------------------------------------------------


async def _fetch(session: aiohttp.ClientSession, url: str, out: Path, proxy: str) -> None:
    async with session.get(url, proxy=proxy) as response:
        response.raise_for_status()
        with out.open("ab") as handle:
            async for chunk in response.content.iter_chunked(256 * 1024):
                handle.write(chunk)


async def _download_all(source: Any, work: Path, proxy: str) -> list[Path]:
    """Every input downloaded whole (fragments concatenated, as yt-dlp does)."""
    files: list[Path] = []
    async with aiohttp.ClientSession() as session:
        if isinstance(source, SplitSource):
            files = [work / f"input{i}" for i in range(len(source.inputs))]
            await asyncio.gather(
                *(
                    _fetch(session, str(url), out, proxy)
                    for url, out in zip(source.inputs, files, strict=True)
                )
            )
            return files
        for position, track in enumerate(source.tracks):
            if track.playlist_url is not None:
                async with session.get(track.playlist_url, proxy=proxy) as response:
                    track = parse_media_playlist(await response.text(), track.playlist_url)
            out = work / f"input{position}"
            for fragment in ([track.init] if track.init else []) + list(track.fragments):
                await _fetch(session, fragment.url, out, proxy)
            files.append(out)
    return files


async def sequential(bot: Any, source: Any, work: Path, limit: int, proxy: str) -> list[int]:
    """Download, merge, split everything, then upload each part."""
    inputs = await _download_all(source, work, proxy)
    merged = work / "merged.mp4"
    args = [FFMPEG, "-v", "error", "-y"]
    for path in inputs:
        args += ["-i", str(path)]
    if len(inputs) == 2:
        args += ["-map", "0:v:0", "-map", "1:a:0"]
    await run_tool([*args, "-c", "copy", "-movflags", "+faststart", str(merged)])
    for path in inputs:
        path.unlink()
    splitter = Splitter(SplitSource((merged,), source.kind), work, stem="seq")
    await splitter.open()
    await splitter.survey(0.0, limit)
    total = splitter.estimate_parts(0.0, limit)
    parts: list[CutPart] = []
    start, index = 0.0, 0
    while True:
        target = splitter.part_target(start, total - index, limit)
        part = await splitter.cut(start, index, limit, target_bytes=target)
        parts.append(part)
        if part.is_last:
            break
        start, index = part.end_s, index + 1
    merged.unlink()
    for part in parts:
        _TIMELINE.append(("upload", part.index, time.perf_counter() - _STARTED[0], 0.0))
        await bot.send_video(
            chat_id=CHAT_ID,
            video=FSInputFile(part.path),
            caption=f"Part {part.index + 1}/{len(parts)}",
            supports_streaming=True,
        )
        part.path.unlink()
    return [part.size_bytes for part in parts]


_STARTED = [0.0]
"""When the press was, in `time.perf_counter` seconds (set by `child`)."""
_TIMELINE: list[tuple[str, int, float, float]] = []
"""(step, part index, start, end) of every cut and upload, in seconds from the press."""


def _timed(step: str, function: Any, started: float) -> Any:
    """`function` (a cut or an upload: part index second argument or on the result) with
    its start and end recorded in `_TIMELINE`."""

    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter() - started
        result = await function(self, *args, **kwargs)
        index = result.index if step == "cut" else args[0].index
        _TIMELINE.append((step, index, begin, time.perf_counter() - started))
        return result

    return wrapper


def _record_timeline(started: float) -> None:
    """Every cut (both splitters) and every upload of the large video sender, timed."""
    Splitter.cut = _timed("cut", Splitter.cut, started)  # type: ignore[method-assign]
    SegmentSplitter.cut = _timed("cut", SegmentSplitter.cut, started)  # type: ignore[method-assign]
    LargeVideoSender._upload = _timed("upload", LargeVideoSender._upload, started)  # type: ignore[method-assign]
    LargeAudioSender._upload = _timed("upload", LargeAudioSender._upload, started)  # type: ignore[method-assign]


async def streamed(
    bot: Any, source: Any, work: Path, limit: int, proxy: str, *, whole_first: bool = False
) -> list[int]:
    """mediabot's stream sender: one file while it is fetched (`whole_first`, when it fits),
    else parts cut while the source arrives."""
    del proxy  # the source's guard names it
    sender = make_stream_sender(
        bot,
        source,
        SendTarget(CHAT_ID, "bench"),
        work_dir=work,
        limit_bytes=limit,
        title="bench",
        whole_first=whole_first,
    )
    return [part.size_bytes for part in await sender.send()]


async def child(spec: dict[str, Any]) -> None:
    settings = load_settings(bot_token=spec["token"], telegram_api_url=spec["api"])
    bot = create_bot(settings, pacer=Pacer(per_chat=Rate(1000.0, burst=100)))
    guard = StreamGuard.for_options(DownloadOptions(allow_private_urls=True))
    folder, work = Path(spec["folder"]), Path(spec["work"])
    source = source_for(spec["kind"], folder, spec["base"], guard)
    try:
        started = _STARTED[0] = time.perf_counter()
        _record_timeline(started)
        if spec["way"] == "streamed":
            sizes = await streamed(
                bot,
                source,
                work,
                spec["limit"],
                guard.proxy_url,
                whole_first=spec.get("whole", False),
            )
        else:
            sizes = await sequential(bot, source, work, spec["limit"], guard.proxy_url)
        wall = time.perf_counter() - started
    finally:
        await bot.session.close()
    print(
        json.dumps({"wall_s": wall, "sizes": sizes, "peak_rss": _peak_rss(), "timeline": _TIMELINE})
    )


def _peak_rss() -> int:
    """This process's peak resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- measuring (in the parent) ---------------------------------------------------------------


@dataclass
class Figures:
    wall_s: float
    uploaded: int
    parts: int
    peak_disk: int
    peak_rss: int
    timeline: list[tuple[str, int, float, float]]

    @property
    def first_upload_s(self) -> float:
        """Seconds from the press to the start of the first part's upload."""
        return min(begin for step, _, begin, _ in self.timeline if step == "upload")

    def upload_waits(self) -> list[float]:
        """Seconds the upload of each part after the first waited for its cut: from the
        end of the previous upload to the start of this one."""
        uploads = sorted((i, b, e) for step, i, b, e in self.timeline if step == "upload")
        return [max(0.0, b - e0) for (_, _, e0), (_, b, _) in itertools.pairwise(uploads)]


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size
        except OSError:
            continue  # deleted between listing and stat
    return total


def measure(spec: dict[str, Any]) -> Figures:
    work = Path(spec["work"])
    work.mkdir(parents=True)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _folder_bytes(work))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        stop.set()
        sampler.join()
    if result.returncode != 0:
        raise RuntimeError(f"{spec['way']} {spec['kind']} failed:\n{result.stderr[-3000:]}")
    leftovers = sorted(work.iterdir())
    if leftovers:
        raise RuntimeError(f"{spec['way']} {spec['kind']} left files behind: {leftovers}")
    shutil.rmtree(work)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    sizes = data["sizes"]
    timeline = [tuple(row) for row in data["timeline"]]
    return Figures(data["wall_s"], sum(sizes), len(sizes), peak[0], data["peak_rss"], timeline)


def _long_mp4() -> Path:
    with tempfile.TemporaryDirectory(prefix="bench-delivery-tree-") as scratch:
        tree = link_media_tree(Path(scratch) / "media")
        return (tree / "long" / "long.mp4").resolve()


def measure_both(
    kind: str,
    folder: Path,
    server: MediaServer,
    fake: FakeTelegram,
    scratch: Path,
    limit: int,
    *,
    whole: bool = False,
    sequential: bool = True,
) -> tuple[Figures, Figures | None]:
    """The figures of `kind` delivered streamed (`whole`: one file first), then sequentially
    (None when `sequential` is off)."""
    figures: list[Figures] = []
    for way in ("streamed", "sequential") if sequential else ("streamed",):
        spec = {
            "kind": kind,
            "way": way,
            "whole": whole,
            "folder": str(folder),
            "base": server.base_url.rstrip("/"),
            "work": str(scratch / f"{kind}-{way}"),
            "limit": limit,
            "token": fake.token,
            "api": fake.base_url,
        }
        figures.append(measure(spec))
        fake.reset()
    return figures[0], figures[1] if sequential else None


@contextlib.contextmanager
def _lines(
    folder: Path, scratch: Path, down: float, up: float
) -> Iterator[tuple[MediaServer, FakeTelegram]]:
    """The media server of `folder` on one shared download line of `down` bytes/s, and
    the fake Bot API taking uploads at `up` bytes/s."""
    with MediaServer(folder) as server, FakeTelegram(scratch / "telegram") as fake:
        server.throttle_bytes_per_second = int(down)
        server.throttle_is_line = True
        fake.upload_bytes_per_second = int(up)
        yield server, fake


def run_kinds(args: argparse.Namespace, scratch: Path) -> None:
    loops = max(1, round(args.minutes * 60 / 48))
    folder = cache_root() / f"bench-delivery-{loops}x"
    if not (folder / "dash" / "manifest.mpd").exists():
        build_sources(folder, _long_mp4(), loops)
    limit = int(args.limit_mib * MIB)
    down, up = args.download_mibps * MIB, args.upload_mibps * MIB
    kinds = args.kinds.split(",") if args.kinds else list(KINDS)
    with _lines(folder, scratch, down, up) as (server, fake):
        print(
            f"source: 720p H.264/AAC, {loops * 48 / 60:.1f} min, "
            f"{(folder / 'source.mp4').stat().st_size / MIB:.0f} MiB; parts under "
            f"{args.limit_mib:g} MiB; download line {args.download_mibps:g} MiB/s, upload "
            f"{args.upload_mibps:g} MiB/s"
        )
        print(
            "| source | press -> last part | line's floor | against the floor | sequential "
            "| first upload (one part's download) | peak disk (parts) | peak memory | parts |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for kind in kinds:
            ours, theirs = measure_both(
                kind, folder, server, fake, scratch, limit, sequential=not args.no_sequential
            )
            floor = max(source_bytes(kind, folder) / down, ours.uploaded / up)
            one_part = ours.uploaded / ours.parts / down
            if args.timeline:
                _print_timeline(kind, ours)
            print(
                f"| {kind} | {ours.wall_s:.1f} s | {floor:.1f} s | **{ours.wall_s / floor:.2f}x** "
                f"| {_sequential(theirs, floor)} "
                f"| {ours.first_upload_s:.2f} s ({one_part:.2f} s, "
                f"{ours.first_upload_s / one_part:.1f}x) "
                f"| {ours.peak_disk / limit:.2f} "
                f"| {ours.peak_rss / MIB:.0f} MiB "
                f"| {ours.parts} |",
                flush=True,
            )


def run_one_part(args: argparse.Namespace, scratch: Path) -> None:
    """A source that fits one upload (or, with a small limit, a few parts) from each kind."""
    long_mp4 = _long_mp4()
    loops = max(1, round(args.source_mib * MIB / long_mp4.stat().st_size))
    folder = cache_root() / f"bench-delivery-{loops}x"
    if not (folder / "dash" / "manifest.mpd").exists():
        build_sources(folder, long_mp4, loops)
    build_segment_base(folder)
    limit = int(args.limit_mib * MIB)
    down, up = args.download_mibps * MIB, args.upload_mibps * MIB
    kinds = args.kinds.split(",") if args.kinds else list(ONE_PART_KINDS)
    with _lines(folder, scratch, down, up) as (server, fake):
        print(
            f"source: 720p H.264/AAC, {loops * 48 / 60:.1f} min, "
            f"{(folder / 'source.mp4').stat().st_size / MIB:.1f} MiB; upload limit "
            f"{args.limit_mib:g} MiB; download line {args.download_mibps:g} MiB/s, upload "
            f"{args.upload_mibps:g} MiB/s"
        )
        print(
            "| source | parts | press -> last byte | line's floor | against the floor "
            "| sequential | first upload starts |"
        )
        print("|---|---|---|---|---|---|---|")
        for kind in kinds:
            whole = source_bytes(kind, folder) <= limit  # as the worker's estimate decides
            ours, theirs = measure_both(
                kind,
                folder,
                server,
                fake,
                scratch,
                limit,
                whole=whole,
                sequential=not args.no_sequential,
            )
            floor = max(source_bytes(kind, folder) / down, ours.uploaded / up)
            if args.timeline:
                _print_timeline(kind, ours)
            print(
                f"| {kind} | {ours.parts} | {ours.wall_s:.2f} s | {floor:.2f} s "
                f"| **{ours.wall_s / floor:.2f}x** "
                f"| {_sequential(theirs, floor)} "
                f"| {ours.first_upload_s:.2f} s (sequential {theirs_first(theirs):.2f} s) |",
                flush=True,
            )


def _sequential(figures: Figures | None, floor: float) -> str:
    """The sequential way's time and its ratio to the floor, when it was run."""
    if figures is None:
        return "not run"
    return f"{figures.wall_s:.2f} s ({figures.wall_s / floor:.2f}x)"


def theirs_first(figures: Figures | None) -> float:
    """The sequential way's first upload: after its whole download, merge and cut."""
    if figures is None:
        return float("nan")
    uploads = [begin for step, _, begin, _ in figures.timeline if step == "upload"]
    return min(uploads) if uploads else float("nan")


def _print_timeline(kind: str, figures: Figures) -> None:
    """Each part's cut and upload, in seconds from the press, and what each upload waited."""
    rows: dict[int, dict[str, tuple[float, float]]] = {}
    for step, index, begin, end in figures.timeline:
        rows.setdefault(index, {})[step] = (begin, end)
    waits = [0.0, *figures.upload_waits()]
    print(f"{kind}: part, cut start-end, upload start-end, upload waited for its cut")
    for index, wait in zip(sorted(rows), waits, strict=False):
        cut, upload = rows[index].get("cut", (0, 0)), rows[index].get("upload", (0, 0))
        print(
            f"  {index:3d}  cut {cut[0]:6.2f}-{cut[1]:6.2f}  upload {upload[0]:6.2f}-"
            f"{upload[1]:6.2f}  waited {wait:.2f}",
            flush=True,
        )


def run_memory(args: argparse.Namespace, scratch: Path) -> None:
    """The streamed HLS delivery of a small and of a large source: peak memory."""
    limit = int(args.limit_mib * MIB)
    rows = []
    for loops in (max(1, round(20 / 8.6)), max(1, round(args.big_mib / 8.6))):
        folder = cache_root() / f"bench-delivery-hls-{loops}x"
        if not (folder / "hls-ts" / "index.m3u8").exists():
            build_sources(folder, _long_mp4(), loops, only_hls=True)
        with MediaServer(folder) as server, FakeTelegram(scratch / f"telegram-{loops}") as fake:
            spec = {
                "kind": "hls-ts",
                "way": "streamed",
                "folder": str(folder),
                "base": server.base_url.rstrip("/"),
                "work": str(scratch / f"memory-{loops}"),
                "limit": limit,
                "token": fake.token,
                "api": fake.base_url,
            }
            figures = measure(spec)
        size = source_bytes("hls-ts", folder)
        rows.append((size, figures))
        print(
            f"HLS source {size / MIB:.0f} MiB: {figures.parts} parts in {figures.wall_s:.1f} s, "
            f"peak memory {figures.peak_rss / MIB:.1f} MiB, peak disk "
            f"{figures.peak_disk / limit:.2f} parts",
            flush=True,
        )
        shutil.rmtree(scratch / f"telegram-{loops}", ignore_errors=True)
    ratio = rows[1][1].peak_rss / rows[0][1].peak_rss
    print(f"peak memory, large / small: {ratio:.3f} (target <= 1.10)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--limit-mib", type=float, help="16, or 50 with --one-part")
    parser.add_argument("--download-mibps", type=float, help="24, or 20 with --one-part")
    parser.add_argument("--upload-mibps", type=float, help="12, or 10 with --one-part")
    parser.add_argument("--kinds", default="", help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--timeline", action="store_true", help="print each part's steps")
    parser.add_argument("--big-mib", type=float, default=1024.0)
    parser.add_argument("--one-part", action="store_true", help="sources that fit one upload")
    parser.add_argument("--source-mib", type=float, default=28.0)
    parser.add_argument(
        "--no-sequential", action="store_true", help="measure the streamed way alone"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name, usual, one_part in (
        ("limit_mib", 16.0, 50.0),
        ("download_mibps", 24.0, 20.0),
        ("upload_mibps", 12.0, 10.0),
    ):
        if getattr(args, name) is None:
            setattr(args, name, one_part if args.one_part else usual)
    if args.child:
        asyncio.run(child(json.loads(args.child)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as scratch:
        if args.one_part:
            run_one_part(args, Path(scratch))
        elif args.memory:
            run_memory(args, Path(scratch))
        else:
            run_kinds(args, Path(scratch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
