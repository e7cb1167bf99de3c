"""Short media made with ffmpeg for the tests, cached on disk across runs.

Every source is a *recipe*: ffmpeg command lines run in an empty folder, plus small text files
written next to them (a hand-written DASH manifest). A recipe's output lives in the cache under
``<name>-<hash of the recipe>``, so a changed recipe is rebuilt and an unchanged one is reused by
every later run. The cache is ``$MEDIABOT_TEST_CACHE`` or ``~/.cache/mediabot-tests``; building
takes a file lock per recipe, so parallel test runs on one machine build each source once.

The served tree (`link_media_tree`) is a per-session folder of symlinks into the cache, so a
test may add files next to the sources without touching the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

CACHE_ENV = "MEDIABOT_TEST_CACHE"

# Bump to rebuild every cached source after a change the recipes themselves do not show.
_RECIPE_VERSION = 1

SHORT_DURATION = 6.0
"""Seconds of every short source (DASH, HLS, progressive MP4, M4A)."""
LONG_DURATION = 48.0
"""Seconds of the long sources (long MP4, long DASH, long M4A)."""
LONG_KEYFRAME_INTERVAL = 2.0
"""Seconds between keyframes of the long video: the finest cut a splitter can make."""
DASH_HEIGHTS = (360, 720, 1080)
HLS_HEIGHTS = (360, 720)
PROGRESSIVE_SIZE = (640, 360)
LONG_SIZE = (1280, 720)
SEGMENTED_DURATION = 40.0
"""Seconds of the segmented sources (HLS TS and fMP4, segmented DASH)."""
SEGMENTED_SIZE = (640, 360)
SEGMENTED_KEYFRAME_INTERVAL = 0.5
"""Dense keyframes: parts of a small limit can be cut close to it (the finest cut is ~80 KB)."""
PAGE_SIZE = (426, 240)
"""The small video of blog pages (`<video src>`): 240p, as small sites serve it."""
PAGE_DURATION = 8.0
PAGE_LONG_DURATION = 120.0
"""Two minutes: over a one-minute `MAX_DURATION_MIN`."""
CLIP_DURATION = 600.0
"""Ten minutes: the source clips are cut out of (tiny, so a clip's bytes are few)."""
CLIP_SIZE = (160, 90)
CLIP_KEYFRAMES_AT = 0.5
"""The clip source's keyframes are at 0 and 0.5 s past every second (a second apart)."""
CLIP_SEGMENT_S = 2
"""Seconds of each HLS and DASH fragment, and of each `sidx` reference of the DASH pair."""

_FFMPEG = ("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y")
_MPD_LONG = """\
<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"
     profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"
     mediaPresentationDuration="PT{duration:.0f}S" minBufferTime="PT2S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" startWithSAP="1">
      <Representation id="video-720p" codecs="avc1.42c01f" bandwidth="1400000"
                      width="{width}" height="{height}" frameRate="24">
        <BaseURL>video-720p.mp4</BaseURL>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="en">
      <Representation id="audio" codecs="mp4a.40.2" bandwidth="128000" audioSamplingRate="44100">
        <BaseURL>audio.m4a</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"""


def _args(line: str) -> tuple[str, ...]:
    """An argv fragment written as one line (no argument here contains a space)."""
    return tuple(line.split())


def _testsrc(
    width: int, height: int, rate: int, duration: float, extra: str = ""
) -> tuple[str, ...]:
    return _args(
        f"-f lavfi -i testsrc2=size={width}x{height}:rate={rate}:duration={duration:g}{extra}"
    )


def _sine(frequency: int, duration: float, sample_rate: int = 44100) -> tuple[str, ...]:
    return _args(
        f"-f lavfi -i sine=frequency={frequency}:sample_rate={sample_rate}:duration={duration:g}"
    )


@dataclass(frozen=True)
class _Recipe:
    """How to make one source folder: ffmpeg argv lists run in order, then text files."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    texts: tuple[tuple[str, str], ...] = ()
    subfolders: tuple[str, ...] = ()  # made first: the mp4 muxer does not create folders

    @property
    def key(self) -> str:
        recipe = [_RECIPE_VERSION, self.name, self.commands, self.texts, self.subfolders]
        return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]

    def build(self, into: Path) -> None:
        for folder in self.subfolders:
            (into / folder).mkdir(parents=True, exist_ok=True)
        for command in self.commands:
            result = subprocess.run(
                [*_FFMPEG, *command], cwd=into, capture_output=True, text=True, timeout=300
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"ffmpeg failed building test media {self.name!r}: {result.stderr.strip()}"
                )
        for relpath, text in self.texts:
            (into / relpath).write_text(text)


def _recipes() -> tuple[_Recipe, ...]:
    short, long = SHORT_DURATION, LONG_DURATION
    x264 = _args("-c:v libx264 -preset ultrafast -pix_fmt yuv420p -sc_threshold 0")
    # DASH as YouTube serves it: one H.264 representation per height, one AAC, 2 s segments.
    dash_split = f"[0:v]split={len(DASH_HEIGHTS)}" + "".join(
        f"[s{i}]" for i in range(len(DASH_HEIGHTS))
    )
    dash_scales = "".join(f";[s{i}]scale=-2:{h}[v{i}]" for i, h in enumerate(DASH_HEIGHTS))
    dash_rates = ("400k", "1000k", "2000k")
    dash = _Recipe(
        name="dash",
        commands=(
            (
                *_testsrc(1920, 1080, 30, short),
                *_sine(440, short),
                *("-filter_complex", dash_split + dash_scales),
                *(arg for i in range(len(DASH_HEIGHTS)) for arg in ("-map", f"[v{i}]")),
                *_args("-map 1:a"),
                *x264,
                *_args("-g 60 -keyint_min 60"),
                *(
                    arg
                    for i, rate in enumerate(dash_rates)
                    for arg in _args(f"-b:v:{i} {rate} -maxrate:v:{i} {rate} -bufsize:v:{i} {rate}")
                ),
                *_args(
                    "-c:a aac -b:a 128k -f dash -use_template 1 -use_timeline 1 -seg_duration 2"
                ),
                *("-adaptation_sets", "id=0,streams=v id=1,streams=a", "manifest.mpd"),
            ),
        ),
    )
    hls = _Recipe(
        name="hls",
        commands=(
            (
                *_testsrc(1280, 720, 30, short),
                *_sine(550, short),
                "-filter_complex",
                "[0:v]split=2[s0][v1];[s0]scale=640:360[v0];[1:a]asplit=2[a0][a1]",
                *_args("-map [v0] -map [a0] -map [v1] -map [a1]"),
                *x264,
                *_args("-g 60 -b:v:0 500k -b:v:1 1200k -c:a aac -b:a 96k"),
                *_args("-f hls -hls_time 2 -hls_playlist_type vod -master_pl_name master.m3u8"),
                *_args("-hls_segment_filename v%v/seg%03d.ts"),
                *("-var_stream_map", "v:0,a:0 v:1,a:1", "v%v/index.m3u8"),
            ),
        ),
    )
    progressive = _Recipe(
        name="progressive",
        commands=(
            (
                *_testsrc(*PROGRESSIVE_SIZE, 30, short),
                *_sine(660, short),
                *x264,
                *_args("-g 60 -b:v 600k -c:a aac -b:a 128k -movflags +faststart video.mp4"),
            ),
        ),
    )
    audio = _Recipe(
        name="audio",
        commands=(
            (*_sine(880, short), *_args("-c:a aac -b:a 128k -movflags +faststart audio.m4a")),
        ),
    )
    keyint = round(24 * LONG_KEYFRAME_INTERVAL)
    long_video = _Recipe(
        name="long",
        commands=(
            # Noise keeps every second equally expensive, so bytes grow evenly with time and
            # the bitrate cap is actually reached (a clean test pattern compresses to nothing).
            (
                *_testsrc(*LONG_SIZE, 24, long, extra=",noise=alls=12:allf=t"),
                *_sine(330, long),
                *x264,
                *_args(f"-level:v 3.1 -g {keyint} -keyint_min {keyint}"),
                *_args("-b:v 1300k -maxrate 1600k -bufsize 2600k -c:a aac -b:a 128k"),
                *_args("-movflags +faststart long.mp4"),
            ),
            # The same media as a DASH pair, read as two streams like YouTube's formats.
            _args("-i long.mp4 -map 0:v -c copy -movflags +faststart dash/video-720p.mp4"),
            _args("-i long.mp4 -map 0:a -c copy -movflags +faststart dash/audio.m4a"),
        ),
        texts=(
            (
                "dash/manifest.mpd",
                _MPD_LONG.format(duration=long, width=LONG_SIZE[0], height=LONG_SIZE[1]),
            ),
        ),
        subfolders=("dash",),
    )
    long_noise = f"sample_rate=48000:duration={long:g}"
    long_audio = _Recipe(
        name="long-audio",
        commands=(
            (
                *_sine(440, long, sample_rate=48000),
                *("-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.3:{long_noise}"),
                *_args("-filter_complex [0:a][1:a]amix=inputs=2,aformat=channel_layouts=stereo"),
                *_args("-c:a aac -b:a 256k -movflags +faststart audio.m4a"),
            ),
        ),
    )
    keyint = round(24 * SEGMENTED_KEYFRAME_INTERVAL)
    # one encode, then copied into every fragmented layout a site may serve
    segmented = _Recipe(
        name="segmented",
        commands=(
            (
                *_testsrc(*SEGMENTED_SIZE, 24, SEGMENTED_DURATION, extra=",noise=alls=12:allf=t"),
                *_sine(370, SEGMENTED_DURATION),
                *x264,
                *_args(f"-g {keyint} -keyint_min {keyint} -b:v 1200k -maxrate 1400k"),
                *_args("-bufsize 1200k -c:a aac -b:a 96k -movflags +faststart source.mp4"),
            ),
            _args(
                "-i source.mp4 -c copy -f hls -hls_time 4 -hls_playlist_type vod "
                "-hls_segment_filename hls-ts/seg%03d.ts hls-ts/index.m3u8"
            ),
            _args(
                "-i source.mp4 -c copy -f hls -hls_time 4 -hls_playlist_type vod "
                "-hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 "
                "-hls_segment_filename hls-fmp4/seg%03d.m4s hls-fmp4/index.m3u8"
            ),
            (
                *_args("-i source.mp4 -map 0:v -map 0:a -c copy -f dash -seg_duration 4"),
                *_args("-use_template 1 -use_timeline 1"),
                *("-adaptation_sets", "id=0,streams=v id=1,streams=a", "dash/manifest.mpd"),
            ),
        ),
        texts=(
            (
                "hls-ts/master.m3u8",
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1400000,RESOLUTION=640x360,"
                'CODECS="avc1.42c01e,mp4a.40.2"\nindex.m3u8\n',
            ),
        ),
        subfolders=("hls-ts", "hls-fmp4", "dash"),
    )
    page_long = f"-t {PAGE_LONG_DURATION:g} -movflags +faststart long.mp4"
    page = _Recipe(
        name="page",
        commands=(
            (
                *_testsrc(*PAGE_SIZE, 24, PAGE_DURATION),
                *_sine(500, PAGE_DURATION),
                *x264,
                *_args("-g 48 -b:v 250k -c:a aac -b:a 64k -movflags +faststart video.mp4"),
            ),
            (
                *_testsrc(*PAGE_SIZE, 12, PAGE_LONG_DURATION),
                *_sine(300, PAGE_LONG_DURATION),
                *x264,
                *_args(f"-g 48 -b:v 60k -c:a aac -b:a 32k {page_long}"),
            ),
            # The same two minutes where the start does not tell the length: MPEG-TS has no
            # duration in a header, and a fragmented MP4's first fragments say ~10 s.
            _args("-i long.mp4 -c copy -f mpegts long.ts"),
            _args("-i long.mp4 -c copy -movflags frag_keyframe+empty_moov long-fragmented.mp4"),
        ),
    )
    clip_rate = 10
    clip_dash = "-f mp4 -movflags +dash+global_sidx"
    fragments = f"{CLIP_SEGMENT_S}000000"
    clip = _Recipe(
        name="clip",
        commands=(
            # Noise keeps the bytes even over time, so a clip's share of bytes is its share
            # of time; a keyframe every second.
            (
                *_testsrc(*CLIP_SIZE, clip_rate, CLIP_DURATION, extra=",noise=alls=12:allf=t"),
                *_sine(470, CLIP_DURATION, sample_rate=22050),
                *x264,
                # keyframes half a second off whole seconds (0.5, 1.5, ...), so a clip asked
                # from a whole second starts at an earlier keyframe
                *_args("-g 1000 -keyint_min 1000 -force_key_frames expr:eq(mod(n,10),5)"),
                *_args("-bf 2 -b:v 400k -maxrate 480k"),  # B-frames, as sites encode
                *_args("-bufsize 400k -c:a aac -b:a 32k -ac 1 -movflags +faststart source.mp4"),
            ),
            _args(
                f"-i source.mp4 -c copy -f hls -hls_time {CLIP_SEGMENT_S} -hls_playlist_type vod "
                "-hls_segment_filename hls/seg%03d.ts hls/index.m3u8"
            ),
            (
                *_args("-i source.mp4 -map 0:v -map 0:a -c copy -f dash"),
                *_args(f"-seg_duration {CLIP_SEGMENT_S} -use_template 1 -use_timeline 1"),
                *("-adaptation_sets", "id=0,streams=v id=1,streams=a", "dash/manifest.mpd"),
            ),
            # YouTube's DASH formats: one fragmented MP4 per stream, indexed by a `sidx`,
            # its subsegments starting at keyframes
            _args(
                f"-i source.mp4 -map 0:v -c copy {clip_dash}+frag_keyframe "
                f"-min_frag_duration {fragments} video.mp4"
            ),
            _args(
                f"-i source.mp4 -map 0:a -c copy {clip_dash} -frag_duration {fragments} audio.m4a"
            ),
            # the same as a plain MP4 whose index comes last
            _args("-i source.mp4 -c copy moov-last.mp4"),
        ),
        subfolders=("hls", "dash"),
    )
    return dash, hls, progressive, audio, long_video, long_audio, segmented, page, clip


@dataclass(frozen=True)
class MediaSources:
    """URLs of the generated sources on the loopback media server, and the files behind them."""

    dir: Path
    """The folder the server serves."""
    dash_mpd: str
    """DASH manifest: H.264 video at 360p, 720p and 1080p, one AAC audio; segmented."""
    hls_master: str
    """HLS master playlist: 360p and 720p variants, H.264 and AAC muxed."""
    progressive_mp4: str
    """640x360 H.264 and AAC MP4, faststart."""
    audio_m4a: str
    """AAC in MP4."""
    long_mp4: str
    """1280x720 H.264 and AAC MP4, 48 s, ~8.6 MB, a keyframe every 2 s, faststart."""
    long_dash_mpd: str
    """The long media as a DASH pair: a video-only MP4 and an audio-only M4A, one file each."""
    long_audio_m4a: str
    """Stereo 256 kbit/s AAC, 48 s, ~1.5 MB."""
    segmented: dict[str, str]
    """The same 40 s 360p H.264/AAC media (~6.6 MB, a keyframe every 0.5 s) as fragmented
    sources, by kind: `hls-ts` (media playlist), `hls-ts-master`, `hls-fmp4`, `dash`."""
    page_mp4: str
    """426x240 H.264/AAC MP4, 8 s, faststart: a blog's `<video src>`."""
    page_long: dict[str, str]
    """The same 240p media, 120 s long, by container: `mp4` (faststart: its length shows in
    its first bytes), `ts` (MPEG-TS: no length before the end), `fragmented` (fragmented
    MP4: its first bytes tell ~10 s)."""
    clip: dict[str, str]
    """A 10-minute 160x90 H.264 (B-frames) and AAC source (~55 KB/s, keyframes at 0.5,
    1.5, ...) to cut
    clips of, by layout: `mp4` (faststart), `moov-last` (the index at the end), `hls`
    (TS media playlist), `dash` (segmented, manifest), `sidx-video` and `sidx-audio`
    (fragmented MP4s indexed by a `sidx`, as YouTube's DASH formats)."""
    base_url: str
    """The server's root URL, without a trailing slash."""

    @classmethod
    def served_at(cls, base_url: str, directory: Path) -> MediaSources:
        """The sources in a tree made by `link_media_tree`, served from `base_url`."""
        base = base_url.rstrip("/")
        return cls(
            dir=directory,
            dash_mpd=f"{base}/dash/manifest.mpd",
            hls_master=f"{base}/hls/master.m3u8",
            progressive_mp4=f"{base}/progressive/video.mp4",
            audio_m4a=f"{base}/audio/audio.m4a",
            long_mp4=f"{base}/long/long.mp4",
            long_dash_mpd=f"{base}/long/dash/manifest.mpd",
            long_audio_m4a=f"{base}/long-audio/audio.m4a",
            segmented={
                "hls-ts": f"{base}/segmented/hls-ts/index.m3u8",
                "hls-ts-master": f"{base}/segmented/hls-ts/master.m3u8",
                "hls-fmp4": f"{base}/segmented/hls-fmp4/index.m3u8",
                "dash": f"{base}/segmented/dash/manifest.mpd",
            },
            page_mp4=f"{base}/page/video.mp4",
            page_long={
                "mp4": f"{base}/page/long.mp4",
                "ts": f"{base}/page/long.ts",
                "fragmented": f"{base}/page/long-fragmented.mp4",
            },
            clip={
                "mp4": f"{base}/clip/source.mp4",
                "moov-last": f"{base}/clip/moov-last.mp4",
                "hls": f"{base}/clip/hls/index.m3u8",
                "dash": f"{base}/clip/dash/manifest.mpd",
                "sidx-video": f"{base}/clip/video.mp4",
                "sidx-audio": f"{base}/clip/audio.m4a",
            },
            base_url=base,
        )

    def path(self, url: str) -> Path:
        """The file on disk behind a URL served here."""
        if not url.startswith(self.base_url + "/"):
            raise ValueError(f"{url} is not served from {self.base_url}")
        relpath = unquote(urlsplit(url).path).lstrip("/")
        return self.dir / relpath


def cache_root() -> Path:
    """Where built sources are kept between runs."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "mediabot-tests"


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _built(recipe: _Recipe, root: Path) -> Path:
    """The folder holding `recipe`'s output, built now unless the cache has it."""
    final = root / f"{recipe.name}-{recipe.key}"
    done_marker = final / ".complete"
    if done_marker.exists():
        return final
    with _locked(root / f"{recipe.name}-{recipe.key}.lock"):
        if done_marker.exists():  # another run built it while this one waited
            return final
        shutil.rmtree(final, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{recipe.name}-", dir=root))
        try:
            recipe.build(staging)
            (staging / ".complete").touch()
            staging.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


def link_media_tree(target: Path, root: Path | None = None) -> Path:
    """Build (or reuse) every source and link them into `target`, the folder to serve.

    Raises RuntimeError when ffmpeg is missing or fails.
    """
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not installed; the media tests need it (apt install ffmpeg)")
    root = root or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    recipes = _recipes()
    # Separate sources encode in parallel: lavfi sources and filters are single-threaded.
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        folders = list(pool.map(lambda recipe: _built(recipe, root), recipes))
    for recipe, folder in zip(recipes, folders, strict=True):
        link = target / recipe.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(folder, target_is_directory=True)
    return target


def sparse_keyframe_hls(media: MediaSources, keyframe_every_s: int) -> str:
    """A minute of 10 fps video, a keyframe every `keyframe_every_s` s from 0, as an HLS
    playlist of 2 s TS segments cut by time, not at keyframes (made in the served tree,
    outside the cache); its URL."""
    folder = media.dir / f"sparse-{keyframe_every_s}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10"),
            *("-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0"),
            *("-g", str(keyframe_every_s * 10), "-keyint_min", str(keyframe_every_s * 10)),
            *("-sc_threshold", "0", "-f", "hls", "-hls_time", "2"),
            *("-hls_flags", "split_by_time", "-hls_playlist_type", "vod"),
            *("-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "index.m3u8")),
        ],
        check=True,
    )
    return f"{media.base_url}/{folder.name}/index.m3u8"
