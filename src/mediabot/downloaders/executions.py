"""What a download fetches, one strategy class each: a video at a height, audio only, a post.

Each strategy's `execute()` takes the probed info dictionary and a private work folder and
returns the files it left there, in order. The downloader chooses the strategy; the
strategies know nothing of providers.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from yt_dlp import YoutubeDL

from mediabot.domain.enums import MediaKind
from mediabot.domain.media import MediaItem
from mediabot.downloaders import ffmpeg
from mediabot.downloaders.errors import N_, DownloadError, NotFoundError
from mediabot.downloaders.formats import InfoDict, audio_codec_family, is_photo, photo_candidates
from mediabot.downloaders.ytdl import YtdlSession

logger = logging.getLogger(__name__)

_NAME_TEMPLATE = "%(title).80B [%(id).60B].%(ext)s"
"""Both fields cut by bytes: a generic id is the link's last segment, of any length."""
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic"})


class Execution(ABC):
    """One way of turning probed info into files on disk."""

    kind: ClassVar[MediaKind]

    @abstractmethod
    async def execute(self, session: YtdlSession, info: InfoDict, workdir: Path) -> list[MediaItem]:
        """Fetch into `workdir`; return the produced files in order."""
        raise NotImplementedError  # abstract

    def select_formats(self, session: YtdlSession, info: InfoDict) -> list[InfoDict]:
        """The formats `execute` would fetch, chosen by yt-dlp without downloading (blocking).

        Empty when the execution is not a choice of formats (a post's photos).
        """
        del session, info
        return []


def _unchosen(info: InfoDict) -> InfoDict:
    """A copy of the probed info in which yt-dlp chooses formats afresh.

    The probe's own (default) choice is left in the info: processed again, a single format
    chosen by another selector would still be fetched as the probe's pair (its URLs run
    together). yt-dlp's recipe for re-processing an info (`--load-info-json`) drops it.
    """
    return dict(YoutubeDL.sanitize_info(info, remove_private_keys=True))


def _tolerate_thumbnails(session: YtdlSession, info: InfoDict) -> None:
    """A thumbnail the guard refuses is skipped (yt-dlp warns); it never fails the download."""
    urls = [t.get("url") for t in info.get("thumbnails") or []] + [info.get("thumbnail")]
    session.tolerated_urls.update(str(url) for url in urls if url)


def _selected(session: YtdlSession, info: InfoDict, selector: str) -> list[InfoDict]:
    """yt-dlp's own choice for `selector` (the same code path `execute` downloads with)."""
    with session.open(format=selector) as ydl:
        processed = dict(ydl.process_ie_result(_unchosen(info), download=False))
    chosen: list[InfoDict] = processed.get("requested_formats") or [processed]
    return [dict(fmt) for fmt in chosen]


class _FormatsExecution(Execution):
    """Fetches the formats yt-dlp chooses with `format_selector`, as one file."""

    @property
    @abstractmethod
    def format_selector(self) -> str:
        """The yt-dlp format selector this execution downloads with."""

    def select_formats(self, session: YtdlSession, info: InfoDict) -> list[InfoDict]:
        return _selected(session, info, self.format_selector)

    async def execute(self, session: YtdlSession, info: InfoDict, workdir: Path) -> list[MediaItem]:
        _tolerate_thumbnails(session, info)
        result = await session.run(lambda: self._fetch(session, info, workdir), strict=True)
        return [await self._checked(result, info)]

    @abstractmethod
    def _fetch(self, session: YtdlSession, info: InfoDict, workdir: Path) -> InfoDict:
        """Download into `workdir` (blocking); yt-dlp's result."""

    @abstractmethod
    async def _checked(self, result: InfoDict, info: InfoDict) -> MediaItem:
        """The file `result` names, of this execution's kind, or its `DownloadError`."""


class VideoExecution(_FormatsExecution):
    """A video at exactly `height` (or the best one when `height` is None), as H.264/AAC MP4.

    The format selector prefers separate H.264 (avc1) video and AAC (mp4a) audio streams,
    merged by ffmpeg without re-encoding; then a muxed H.264/AAC stream; then anything at
    that height, which is re-encoded after the download (and logged) so it plays inline.
    """

    kind = MediaKind.VIDEO

    def __init__(self, height: int | None = None, *, name_prefix: str = "") -> None:
        self.height = height
        self._name_prefix = name_prefix

    @property
    def format_selector(self) -> str:
        """The yt-dlp format selector this execution downloads with."""
        at = f"[height={self.height}]" if self.height else ""
        return "/".join(
            (
                f"bv{at}[vcodec^=avc1]+ba[acodec^=mp4a]",
                f"b{at}[vcodec^=avc1][acodec^=mp4a]",
                f"bv{at}[vcodec^=avc1]+ba",
                f"bv{at}+ba[acodec^=mp4a]",
                f"bv{at}+ba",
                f"b{at}",
                f"bv{at}",
            )
        )

    async def _checked(self, result: InfoDict, info: InfoDict) -> MediaItem:
        path = _final_path(result)
        # yt-dlp already knows what it merged; ffprobe only when it does not, or when the
        # codecs call for a re-encode (which needs the real stream facts).
        facts = _declared_facts(result)
        if not facts.playable_everywhere or path.suffix.lower() != ".mp4":
            facts = await ffmpeg.probe(path)
        if facts.video_codec is None:
            raise NotFoundError(detail=f"no video stream in {path.name}")
        if not facts.playable_everywhere or path.suffix.lower() != ".mp4":
            path = await ffmpeg.reencode_to_h264(path, facts)
            facts = await ffmpeg.probe(path)
        return MediaItem(
            path=path,
            kind=MediaKind.VIDEO,
            size_bytes=path.stat().st_size,
            duration_s=facts.duration_s or info.get("duration"),
            width=facts.width,
            height=facts.height,
            thumbnail=_thumbnail_path(result),
        )

    def _fetch(self, session: YtdlSession, info: InfoDict, workdir: Path) -> InfoDict:
        params: dict[str, Any] = {
            "format": self.format_selector,
            "merge_output_format": "mp4",
            "outtmpl": {"default": str(workdir / (self._name_prefix + _NAME_TEMPLATE))},
        }
        if info.get("thumbnails") or info.get("thumbnail"):
            params["writethumbnail"] = True
            params["postprocessors"] = [
                {"key": "FFmpegThumbnailsConvertor", "format": "jpg", "when": "before_dl"}
            ]
        with session.open(**params) as ydl:
            return dict(ydl.process_ie_result(_unchosen(info), download=True))


class AudioExecution(_FormatsExecution):
    """The sound only: M4A when the source has AAC, MP3 otherwise; title, performer, cover."""

    kind = MediaKind.AUDIO

    format_selector = "ba[acodec^=mp4a]/ba/w[acodec^=mp4a]/w"
    """Audio-only streams first; a muxed stream only when the source has no separate audio."""

    async def _checked(self, result: InfoDict, info: InfoDict) -> MediaItem:
        path = _final_path(result)
        # yt-dlp knows which audio it fetched; ffprobe only when it does not say, or not how long.
        facts = _declared_audio(result)
        if facts.audio_codec is None or not facts.duration_s:
            facts = await ffmpeg.probe(path)
        if facts.audio_codec is None:
            raise NotFoundError(N_("This media has no sound."), detail=f"no audio in {path.name}")
        return MediaItem(
            path=path,
            kind=MediaKind.AUDIO,
            size_bytes=path.stat().st_size,
            duration_s=facts.duration_s or info.get("duration"),
            thumbnail=_thumbnail_path(result),
        )

    def _fetch(self, session: YtdlSession, info: InfoDict, workdir: Path) -> InfoDict:
        codec = "mp3" if audio_codec_family(info) == "other" else "m4a"
        postprocessors: list[dict[str, Any]] = [
            {"key": "FFmpegExtractAudio", "preferredcodec": codec, "preferredquality": "192"},
            {"key": "FFmpegMetadata", "add_metadata": True},
        ]
        params: dict[str, Any] = {
            "format": self.format_selector,
            "outtmpl": {"default": str(workdir / _NAME_TEMPLATE)},
            "postprocessors": postprocessors,
        }
        if info.get("thumbnails") or info.get("thumbnail"):
            params["writethumbnail"] = True
            postprocessors.insert(
                0, {"key": "FFmpegThumbnailsConvertor", "format": "jpg", "when": "before_dl"}
            )
            postprocessors.append({"key": "EmbedThumbnail", "already_have_thumbnail": True})
        with session.open(**params) as ydl:
            return dict(ydl.process_ie_result(_unchosen(info), download=True))


class PhotoExecution(Execution):
    """A post: its photos (and the videos of a mixed carousel) in the post's order."""

    kind = MediaKind.PHOTO

    async def execute(self, session: YtdlSession, info: InfoDict, workdir: Path) -> list[MediaItem]:
        entries = info.get("entries") or [info]
        items: list[MediaItem] = []
        for index, entry in enumerate(entries, start=1):
            prefix = f"{index:02d} "
            if is_photo(entry):
                items.append(await self._photo(session, entry, workdir, prefix))
            else:
                video = VideoExecution(None, name_prefix=prefix)
                items.extend(await video.execute(session, entry, workdir))
        if not items:
            raise NotFoundError(detail="the post has no media entries")
        return items

    async def _photo(
        self, session: YtdlSession, entry: InfoDict, workdir: Path, prefix: str
    ) -> MediaItem:
        candidates = photo_candidates(entry)
        if not candidates:
            raise NotFoundError(detail=f"no image URL for entry {entry.get('id')}")
        best = candidates[0]
        suffix = Path(urlsplit(best["url"]).path).suffix.lower()
        if suffix not in _IMAGE_SUFFIXES:
            suffix = ".jpg"
        path = workdir / f"{prefix}{entry.get('id') or 'photo'}{suffix}"
        await session.run(lambda: self._save(session, best["url"], path), strict=True)
        return MediaItem(
            path=path,
            kind=MediaKind.PHOTO,
            size_bytes=path.stat().st_size,
            width=best.get("width"),
            height=best.get("height"),
        )

    @staticmethod
    def _save(session: YtdlSession, url: str, path: Path) -> None:
        with session.open() as ydl, path.open("wb") as output:
            for chunk in session.fetch(ydl, url):
                output.write(chunk)


_DECLARED_CODECS = (("avc1", "h264"), ("mp4a", "aac"))


def _declared_facts(result: InfoDict) -> ffmpeg.FileFacts:
    """Stream facts from yt-dlp's own description of the formats it fetched."""
    chosen = result.get("requested_formats") or [result]
    video = next((f for f in chosen if f.get("vcodec") not in (None, "none")), None)
    audio = next((f for f in chosen if f.get("acodec") not in (None, "none")), None)
    if video is None or audio is None or not video.get("height"):
        return ffmpeg.FileFacts()
    return ffmpeg.FileFacts(
        duration_s=result.get("duration"),
        width=video.get("width"),
        height=video.get("height"),
        video_codec=_codec_name(video["vcodec"]),
        audio_codec=_codec_name(audio["acodec"]),
    )


def _declared_audio(result: InfoDict) -> ffmpeg.FileFacts:
    """The audio facts yt-dlp declared for what it fetched (the codec before any conversion)."""
    chosen = result.get("requested_formats") or [result]
    audio = next((f for f in chosen if f.get("acodec") not in (None, "none")), None)
    if audio is None:
        return ffmpeg.FileFacts()
    duration = result.get("duration")
    return ffmpeg.FileFacts(
        duration_s=float(duration) if duration else None,
        audio_codec=_codec_name(audio["acodec"]),
    )


def _codec_name(declared: str) -> str:
    for prefix, name in _DECLARED_CODECS:
        if declared.startswith(prefix):
            return name
    return declared


def _final_path(result: InfoDict) -> Path:
    downloads = result.get("requested_downloads") or []
    for download in downloads:
        filepath = download.get("filepath")
        if filepath and Path(filepath).is_file():
            return Path(filepath)
    raise DownloadError(detail=f"yt-dlp reported no output file for {result.get('id')}")


def _thumbnail_path(result: InfoDict) -> Path | None:
    for thumbnail in reversed(result.get("thumbnails") or []):
        filepath = thumbnail.get("filepath")
        if filepath and Path(filepath).is_file():
            return Path(filepath)
    return None
