"""The downloader family: one class per provider, one public verb, `download()`.

The base class is a template: it probes the link (guard, extraction, limits), picks the
`Execution` for what was asked (a video at a height, audio only, a post's photos), runs it
in a private work folder and moves the files into the caller's folder only on success.
Subclasses say which links they take, how a link maps to a canonical key, and which
yt-dlp settings their site needs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from mediabot.domain.enums import DownloadPhase, MediaKind, Provider
from mediabot.domain.links import LinkKind, RecognisedLink
from mediabot.domain.media import (
    DownloadProgress,
    DownloadResult,
    MediaItem,
    MediaOptions,
    ProgressCallback,
)
from mediabot.downloaders import ffmpeg, formats, streams
from mediabot.downloaders.direct import describe_formats, describe_page_media, sizes_agree
from mediabot.downloaders.errors import (
    N_,
    LiveStreamError,
    NotFoundError,
    PlaylistLinkError,
    StalledError,
    TooLongError,
    UnavailableResolutionError,
    UnsupportedLinkError,
)
from mediabot.downloaders.executions import (
    AudioExecution,
    Execution,
    PhotoExecution,
    VideoExecution,
)
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.found import fresh, keep
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.share import follow_share_link
from mediabot.downloaders.streams import StreamGuard, StreamPlan
from mediabot.downloaders.ytdl import YtdlSession

if TYPE_CHECKING:  # the sources are loaded only when a plan is made
    from mediabot.media.sources import SegmentedSource, SplitSource

_Located: TypeAlias = "tuple[SplitSource | SegmentedSource, int | None, int | None, int | None]"
"""A stream plan's source, its announced size, and the picture's width and height."""

_PAGE_PROBES_SHARE = 0.75
"""A page's media yt-dlp could not describe is probed until this share of the lookup
deadline has passed: the rest is left for answering with what is known."""

logger = logging.getLogger(__name__)


class Downloader(ABC):
    """Downloads one link: `Downloader(url, res)` then `await download(dest)`.

    `res` > 0 asks for a video at exactly that height; 0 asks for audio only (or, for a
    photo post or carousel, the post's media). `kind` may force `MediaKind.VIDEO` with
    `res=0` (the best height) or `MediaKind.PHOTO` (the post's media).

    "No resolution" is None everywhere in mediabot (database, offer, job, worker,
    `make_downloader`); the `res=0` of this constructor's seed-mandated shape is its one
    other spelling, and None given here is turned into 0 at once.
    """

    provider: ClassVar[Provider]
    _accepts_collections: ClassVar[bool] = False
    _extra_params: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        url: str,
        res: int | None = 0,
        *,
        options: DownloadOptions | None = None,
        kind: MediaKind | None = None,
        found: Mapping[str, Any] | None = None,
    ) -> None:
        """`found`: what a lookup of `url` found (`downloaders.found`), used instead of a
        second lookup while it is fresh (once: `reused_lookup` tells it was)."""
        res = res or 0
        if res < 0:
            raise ValueError(f"resolution must be a height in pixels or 0, not {res}")
        if kind is MediaKind.AUDIO and res:
            raise ValueError("audio only takes no resolution")
        self._url = url.strip()
        self._res = res
        self._options = options or DownloadOptions()
        self._kind = kind
        self._found = found
        self._own_lookup = found is None
        self.reused_lookup = False

    # ---- what subclasses define ------------------------------------------------------------

    @classmethod
    @abstractmethod
    def suitable(cls, url: str) -> bool:
        """Whether this class handles `url` (no network)."""
        raise NotImplementedError  # abstract

    @classmethod
    def recognise(cls, url: str) -> RecognisedLink | None:
        """What `url` is (kind, canonical key) when this class takes it, else None (no network).

        By default a page whose media only extraction tells; sites whose URLs name their
        media say more.
        """
        if not cls.suitable(url):
            return None
        return RecognisedLink(url.strip(), cls.provider, LinkKind.PAGE)

    @classmethod
    def media_key(cls, url: str) -> str | None:
        """The canonical key of the media behind `url` when the URL alone tells it."""
        link = cls.recognise(url)
        return link.media_key if link is not None else None

    @classmethod
    def _source_url(cls, url: str) -> str:
        """The URL handed to yt-dlp: the recognised link, in its canonical form."""
        link = cls.recognise(url)
        return cls._canonical_url(link) if link is not None else url.strip()

    @classmethod
    def _canonical_url(cls, link: RecognisedLink) -> str:
        """The one URL of `link`'s media; subclasses drop tracking and playlist parameters."""
        return link.url

    @classmethod
    def _check_link(cls, url: str) -> None:
        """Refuse links known to be unsupported before any request (no network)."""
        if not cls.suitable(url):
            raise UnsupportedLinkError(detail=f"{cls.__name__} does not take {url!r}")

    @classmethod
    def _cookies_file(cls, options: DownloadOptions) -> Path | None:
        """The provider's cookies file; the generic downloader sends none."""
        del options
        return None

    @classmethod
    def _site_params(cls, options: DownloadOptions) -> dict[str, Any]:
        """yt-dlp parameters this site needs (`options` may add the operator's own)."""
        del options
        return cls._extra_params

    @classmethod
    def _direct_origins(cls, options: DownloadOptions) -> tuple[str, ...]:
        """The operator's services this site's yt-dlp plugins reach directly (none)."""
        del options
        return ()

    @classmethod
    def _canonical_key(cls, url: str, info: InfoDict) -> str:
        """The media key a result is recorded under: the link's own, else yt-dlp's id."""
        return cls.media_key(url) or cls._key_from_info(info)

    @classmethod
    def _key_from_info(cls, info: InfoDict) -> str:
        extractor = str(info.get("extractor_key") or info.get("extractor") or "generic")
        return f"{extractor.lower()}:{info.get('id')}"

    # ---- the public surface ----------------------------------------------------------------

    @classmethod
    async def get_resolutions(
        cls, url: str, options: DownloadOptions | None = None
    ) -> MediaOptions:
        """What `url` offers (heights with estimated sizes, audio, photos), without downloading.

        Refuses private addresses, unsupported links, live streams, files that are not
        media and media over the duration limit with the matching `DownloadError`. Ends
        within `options.lookup_timeout_s` whatever the server does (`StalledError`).
        """
        options = options or DownloadOptions()
        session = cls._session(options)
        try:
            async with asyncio.timeout(options.lookup_timeout_s):
                info = await cls._probe(url, session)
        except TimeoutError:
            raise StalledError(
                N_("The site took too long to answer; try again later."),
                detail=f"lookup of {url} over {options.lookup_timeout_s:g} s",
            ) from None
        finally:
            session.close()
        return cls._media_options(url, info)

    @classmethod
    async def list_playlist(cls, url: str, options: DownloadOptions, max_items: int) -> InfoDict:
        """yt-dlp's flat listing of the playlist at `url`: its first `max_items` entries,
        each as the listing tells it (no probe of the items themselves).

        Guarded and bounded in time as `get_resolutions` is; a link that is no playlist
        comes back as yt-dlp read it (`formats.is_collection` tells).
        """
        source = url.strip()
        session = cls._session(options)
        try:
            session.precheck(source)
            async with asyncio.timeout(options.lookup_timeout_s):
                return await session.run(lambda: cls._list_blocking(source, session, max_items))
        except TimeoutError:
            raise StalledError(
                N_("The site took too long to answer; try again later."),
                detail=f"playlist lookup of {url} over {options.lookup_timeout_s:g} s",
            ) from None
        finally:
            session.close()

    @classmethod
    def _list_blocking(cls, url: str, session: YtdlSession, max_items: int) -> InfoDict:
        # `playlistend` stops a lazily paged listing (YouTube) after the items wanted.
        with session.open(noplaylist=False, playlistend=max_items) as ydl:
            return dict(ydl.sanitize_info(ydl.extract_info(url, download=False)))

    @classmethod
    def entry_key(cls, url: str, entry: InfoDict) -> str:
        """The media key of a playlist entry at `url`, from its flat listing alone: the key
        a lookup of the entry's own link would record, as far as the listing tells it."""
        info = {"extractor_key": entry.get("ie_key") or "generic", "id": entry.get("id")}
        return cls._canonical_key(url, {**info, "webpage_url": url})

    async def download(
        self, dest: Path, progress: ProgressCallback | None = None
    ) -> DownloadResult:
        """Download into `dest` and describe the files.

        Writes only inside `dest`. On failure or cancellation everything written there is
        removed and the exception (a `DownloadError`, or `asyncio.CancelledError`) re-raised.
        """
        session = self._session(self._options, progress)
        workdir = await asyncio.to_thread(_make_workdir, dest)
        moved: list[Path] = []
        try:
            session.progress.report(DownloadProgress(phase=DownloadPhase.PROBING))
            info = await self._info(session)
            execution = self._execution_for(info)
            logger.info(
                "Downloading %s as %s (res=%s)", self._url, type(execution).__name__, self._res
            )
            items = await execution.execute(session, info, workdir)
            items = await self._measured(items)
            items = [self._move(item, dest, moved) for item in items]
            result = self._result(info, items, execution)
            session.progress.report(
                DownloadProgress(
                    phase=DownloadPhase.FINISHED,
                    downloaded_bytes=result.size_bytes,
                    total_bytes=result.size_bytes,
                )
            )
            return result
        except BaseException:
            session.cancel()
            for path in moved:
                path.unlink(missing_ok=True)
            raise
        finally:
            session.close()
            shutil.rmtree(workdir, ignore_errors=True)

    async def locate_streams(self, cover_dir: Path | None = None) -> StreamPlan | None:
        """The formats `download()` would fetch, as remote inputs to cut from, or None.

        Probes the link exactly as `download()` does (same guard, limits, resolution rule
        and format choice, same errors), then returns a `StreamPlan` when every chosen
        format is one plain HTTP(S) file with byte ranges and already H.264/AAC in MP4 or
        M4A, or HLS / segmented DASH (whose fragments are read while parts are cut). None
        means "download it instead": needs re-encoding, photos and carousels, a server
        that does not seek, or anything uncertain. A chosen URL (or a redirect from it)
        to a private address raises `PrivateAddressError`. Nothing is downloaded but one
        byte per plain file, and, when `cover_dir` is given, the cover image (saved there
        as `cover.*`; the caller deletes it with the folder).
        """
        session = self._session(self._options)
        try:
            return await self._locate(session, cover_dir)
        finally:
            session.close()

    async def _info(self, session: YtdlSession) -> InfoDict:
        """What a lookup found while it is fresh: the offer's, or this downloader's own
        earlier one (`locate_streams` then `download` look up once); else a lookup."""
        kept = fresh(self._found)
        if kept is None:
            info = await self._probe(self._url, session)
            self._found, self._own_lookup = keep(info), True
            return info
        if not self._own_lookup and not self.reused_lookup:
            # the offer's: the link and the limits are checked as a lookup checks them
            self._check_link(self._url)
            session.precheck(self._source_url(self._url))
            self._enforce_limits(kept, session.options)
            self.reused_lookup = True
            logger.info("Using what the offer's lookup found for %s", self._url)
        return kept

    async def _locate(self, session: YtdlSession, cover_dir: Path | None) -> StreamPlan | None:
        info = await self._info(session)
        execution = self._execution_for(info)
        kind = execution.kind
        if kind is MediaKind.PHOTO:
            return None
        chosen = await session.run(lambda: execution.select_formats(session, info))
        duration = formats.duration_of(info)
        if streams.streamable(chosen, kind, source_has_audio=formats.has_audio(info)):
            remote = await self._remote_files(session, chosen, kind, duration)
        elif streams.fragmented(chosen, kind):
            remote = await self._fragments(session, chosen, kind, duration)
        else:
            logger.info("Not streaming %s: formats %s", self._url, _format_ids(chosen))
            return None
        if remote is None:
            return None
        source, size, width, height = remote
        thumbnail_url = _thumbnail_url(info)
        thumbnail = None
        if cover_dir is not None and thumbnail_url is not None:
            url = thumbnail_url
            await asyncio.to_thread(cover_dir.mkdir, parents=True, exist_ok=True)
            thumbnail = await session.run(lambda: streams.save_thumbnail(session, url, cover_dir))
        logger.info("Streaming %s from formats %s", self._url, _format_ids(chosen))
        return StreamPlan(
            source=source,
            provider=self.provider,
            media_key=self._canonical_key(self._url, info),
            source_url=self._url,
            title=_title(info),
            uploader=_uploader(info),
            duration_s=duration,
            width=width,
            height=height,
            estimated_bytes=size,
            thumbnail_url=thumbnail_url,
            thumbnail=thumbnail,
        )

    async def _remote_files(
        self, session: YtdlSession, chosen: list[InfoDict], kind: MediaKind, duration: float | None
    ) -> _Located | None:
        """Plain files read with byte ranges: each URL pinned (final URL, exact size)."""
        located = await session.run(lambda: streams.locate_inputs(session, chosen))
        if located is None:
            return None
        # Imported here: `download()` (the CLI, every non-streamed job) never needs it.
        from mediabot.media.sources import SplitSource

        # Parts are planned from the total the servers' byte ranges name: one far over the
        # media's own estimate goes the download way, which counts the bytes that come.
        expected = [formats.estimated_bytes(fmt, {"duration": duration}) for fmt in chosen]
        estimate = sum(size or 0 for size in expected) if all(expected) else None
        if not sizes_agree(located.total_bytes, estimate) and located.total_bytes > (estimate or 0):
            logger.info(
                "Not streaming %s: %d bytes announced, about %s expected",
                self._url,
                located.total_bytes,
                estimate,
            )
            return None
        source = SplitSource(
            located.urls,
            kind,
            duration_s=duration,
            headers=located.headers,
            url_check=StreamGuard.for_options(self._options, self.provider),
            duration_check=DurationLimit.of(self._options),
        )
        return source, located.total_bytes, located.width, located.height

    async def _fragments(
        self, session: YtdlSession, chosen: list[InfoDict], kind: MediaKind, duration: float | None
    ) -> _Located:
        """HLS playlists or DASH fragments, read in order while parts are cut."""
        guard = StreamGuard.for_options(self._options, self.provider)
        limit = DurationLimit.of(self._options)
        source = await session.run(
            lambda: streams.segmented_source(session, chosen, kind, duration, guard, limit)
        )
        video = next((f for f in chosen if f.get("vcodec") not in (None, "none")), None)
        width = int(video["width"]) if video and video.get("width") else None
        height = int(video["height"]) if video and video.get("height") else None
        return source, source.estimated_bytes, width, height

    # ---- the template's private steps ------------------------------------------------------

    @classmethod
    def _session(
        cls, options: DownloadOptions, progress: ProgressCallback | None = None
    ) -> YtdlSession:
        return YtdlSession(
            options,
            provider=cls.provider,
            cookies_file=cls._cookies_file(options),
            extra_params=cls._site_params(options),
            direct_origins=cls._direct_origins(options),
            progress=progress,
        )

    @classmethod
    async def _probe(cls, url: str, session: YtdlSession) -> InfoDict:
        """yt-dlp's info for `url`, completed by ffprobe where yt-dlp knows too little, and
        within the limits (live, duration)."""
        started = time.monotonic()
        cls._check_link(url)
        link = cls.recognise(url)
        if link is not None and link.kind is LinkKind.SHARE:
            # A share token is not the media's id: the link's redirect says which media it is.
            url = await follow_share_link(url, session, lambda target: cls.recognise(target))
        source = cls._source_url(url)
        # Names are judged by the guard proxy at connection time; what needs no DNS, now.
        session.precheck(source)
        info = await session.run(lambda: cls._probe_blocking(source, session))
        # A page's media learns its streams and duration from ffprobe: before the limits apply.
        deadline = started + session.options.lookup_timeout_s * _PAGE_PROBES_SHARE
        await describe_page_media(session, formats.entries_of(info), deadline=deadline)
        cls._enforce_limits(info, session.options)
        return info

    @classmethod
    def _probe_blocking(cls, url: str, session: YtdlSession) -> InfoDict:
        info = cls._single_or_collection(cls._extract_info(url, session), session)
        # Direct files and playlists are the link itself: what ffprobe cannot read fails.
        for entry in formats.entries_of(info):
            describe_formats(session, entry)
        return info

    @classmethod
    def _extract_info(cls, url: str, session: YtdlSession) -> InfoDict:
        """yt-dlp's info dictionary for `url` (blocking; the seam tests replace)."""
        with session.open() as ydl:
            return dict(ydl.sanitize_info(ydl.extract_info(url, download=False)))

    @classmethod
    def _single_or_collection(cls, info: InfoDict, session: YtdlSession) -> InfoDict:
        if not formats.is_collection(info):
            return info
        entries = formats.entries_of(info)
        if not entries:
            raise NotFoundError(detail=f"empty collection at {info.get('webpage_url')}")
        if cls._accepts_collections and all(e.get("_type", "video") == "video" for e in entries):
            return {**info, "entries": entries} if len(entries) > 1 else entries[0]
        if len(entries) == 1:
            entry = entries[0]
            if entry.get("_type") in ("url", "url_transparent") and entry.get("url"):
                return cls._single_or_collection(cls._extract_info(entry["url"], session), session)
            return entry
        raise PlaylistLinkError(detail=f"{len(entries)} entries")

    @classmethod
    def _enforce_limits(cls, info: InfoDict, options: DownloadOptions) -> None:
        entries = formats.entries_of(info)
        if any(formats.is_live(entry) for entry in entries):
            raise LiveStreamError(detail=f"live_status={info.get('live_status')}")
        limit = DurationLimit.of(options)
        if limit is not None:
            limit(sum(formats.duration_of(entry) or 0 for entry in entries))

    async def _measured(self, items: list[MediaItem]) -> list[MediaItem]:
        """`items` with the durations ffprobe reads in their files, within the limit.

        What was downloaded is measured, not what the source declared: a source that lied
        about its length, or told none at lookup, is refused here (`TooLongError`) before
        anything is sent. Without a duration limit nothing is measured.
        """
        limit = DurationLimit.of(self._options)
        if limit is None:
            return items
        measured = []
        for item in items:
            if item.kind in (MediaKind.VIDEO, MediaKind.AUDIO):
                facts = await ffmpeg.probe(item.path)
                if facts.duration_s:
                    item = dataclasses.replace(item, duration_s=facts.duration_s)
            measured.append(item)
        limit(sum(item.duration_s or 0 for item in measured))
        return measured

    @classmethod
    def _media_options(cls, url: str, info: InfoDict) -> MediaOptions:
        entries = formats.entries_of(info)
        collection = formats.is_collection(info)
        photos = sum(1 for entry in entries if formats.is_photo(entry))
        durations = [d for d in map(formats.duration_of, entries) if d is not None]
        if collection or photos:
            return MediaOptions(
                url=url,
                provider=cls.provider,
                media_key=cls._canonical_key(url, info),
                title=_title(info),
                duration_s=sum(durations) if durations else None,
                uploader=_uploader(info),
                has_audio=False,
                photo_count=photos,
                is_collection=collection,
            )
        return MediaOptions(
            url=url,
            provider=cls.provider,
            media_key=cls._canonical_key(url, info),
            title=_title(info),
            duration_s=durations[0] if durations else None,
            uploader=_uploader(info),
            resolutions=formats.resolutions(info),
            has_audio=formats.has_audio(info),
            audio_estimated_bytes=formats.audio_estimate(info),
            found=keep(info),
        )

    def _execution_for(self, info: InfoDict) -> Execution:
        post = formats.is_collection(info) or formats.is_photo(info)
        if post or self._kind is MediaKind.PHOTO:
            if not post:
                raise NotFoundError(
                    N_("This link has no photos."), detail="photos asked of a video"
                )
            return PhotoExecution()
        if self._res:
            available = formats.heights(info)
            if self._res not in available:
                offered = ", ".join(f"{height}p" for height in available) or "—"
                raise UnavailableResolutionError(
                    N_("{height}p is not available for this media (available: {offered})."),
                    detail=f"asked {self._res}, heights {available}",
                    height=self._res,
                    offered=offered,
                )
            return VideoExecution(self._res)
        if self._kind is MediaKind.VIDEO:
            if not formats.has_video(info):
                raise NotFoundError(N_("This media has no video."), detail="video asked of audio")
            return VideoExecution(None)
        if not formats.has_audio(info):
            raise NotFoundError(
                N_("This media has no sound."), detail="audio asked of silent media"
            )
        return AudioExecution()

    def _result(
        self, info: InfoDict, items: list[MediaItem], execution: Execution
    ) -> DownloadResult:
        kinds = {item.kind for item in items}
        if isinstance(execution, PhotoExecution):
            kind = MediaKind.PHOTO if kinds == {MediaKind.PHOTO} else MediaKind.VIDEO
        else:
            kind = execution.kind
        first = items[0]
        return DownloadResult(
            items=tuple(items),
            kind=kind,
            provider=self.provider,
            media_key=self._canonical_key(self._url, info),
            source_url=self._url,
            title=_title(info),
            uploader=_uploader(info),
            duration_s=first.duration_s if len(items) == 1 else None,
            width=first.width,
            height=first.height,
            thumbnail=first.thumbnail,
        )

    @staticmethod
    def _move(item: MediaItem, dest: Path, moved: list[Path]) -> MediaItem:
        path = _free_name(dest / item.path.name)
        shutil.move(item.path, path)
        moved.append(path)
        thumbnail = None
        if item.thumbnail is not None and item.thumbnail.is_file():
            thumbnail = _free_name(dest / item.thumbnail.name)
            shutil.move(item.thumbnail, thumbnail)
            moved.append(thumbnail)
        return MediaItem(
            path=path,
            kind=item.kind,
            size_bytes=item.size_bytes,
            duration_s=item.duration_s,
            width=item.width,
            height=item.height,
            thumbnail=thumbnail,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class DurationLimit:
    """The longest media accepted: called with a duration, raises `TooLongError` over it.

    One message wherever the length is learnt: at lookup (what the source declares or
    ffprobe reads), in the downloaded files, and in a stream before its first part.
    """

    limit_s: int

    @classmethod
    def of(cls, options: DownloadOptions) -> DurationLimit | None:
        return cls(options.max_duration_s) if options.max_duration_s is not None else None

    def __call__(self, duration_s: float) -> None:
        if duration_s > self.limit_s:
            raise TooLongError(
                N_("This media is {minutes} min long; the limit is {limit} min."),
                detail=f"duration {duration_s:.0f}s > {self.limit_s}s",
                minutes=f"{duration_s / 60:.0f}",
                limit=self.limit_s // 60,
            )


def _make_workdir(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".download-", dir=dest))


def _free_name(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
    return candidate


def _title(info: InfoDict) -> str:
    title = info.get("title") or info.get("fulltitle") or info.get("id") or "media"
    return str(title)


def _format_ids(chosen: list[InfoDict]) -> str:
    return "+".join(str(fmt.get("format_id")) for fmt in chosen) or "none"


def _thumbnail_url(info: InfoDict) -> str | None:
    if info.get("thumbnail"):
        return str(info["thumbnail"])
    candidates = [t for t in info.get("thumbnails") or [] if t.get("url")]
    return str(candidates[-1]["url"]) if candidates else None


def _uploader(info: InfoDict) -> str | None:
    for key in ("uploader", "channel", "uploader_id", "creator"):
        value = info.get(key)
        if value:
            return str(value)
    return None
