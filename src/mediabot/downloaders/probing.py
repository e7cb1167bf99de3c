"""Asking a link what it holds: yt-dlp's extraction completed by ffprobe, within the limits,
as a lookup's `MediaOptions` or a playlist's flat listing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from yt_dlp.networking.impersonate import ImpersonateTarget
from yt_dlp.utils import LazyList

from mediabot.domain.links import LinkKind
from mediabot.domain.media import MediaOptions
from mediabot.downloaders import formats
from mediabot.downloaders.direct import describe_formats, describe_page_media
from mediabot.downloaders.errors import (
    N_,
    LiveStreamError,
    NotFoundError,
    PlaylistLinkError,
    StalledError,
)
from mediabot.downloaders.formats import InfoDict, title_of, uploader_of
from mediabot.downloaders.found import keep
from mediabot.downloaders.limits import DurationLimit
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.share import follow_share_link
from mediabot.downloaders.site import Site
from mediabot.downloaders.subtitles import has_subtitles
from mediabot.downloaders.ytdl import YtdlSession

_PAGE_PROBES_SHARE = 0.75
"""A page's media yt-dlp could not describe is probed until this share of the lookup
deadline has passed: the rest is left for answering with what is known."""


class Probing(Site):
    """The probe of a link, shared by the lookup, the download and the stream plan."""

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
            return _plain(ydl.extract_info(url, download=False))

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
            return _plain(ydl.extract_info(url, download=False))

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
                title=title_of(info),
                duration_s=sum(durations) if durations else None,
                uploader=uploader_of(info),
                has_audio=False,
                photo_count=photos,
                is_collection=collection,
            )
        return MediaOptions(
            url=url,
            provider=cls.provider,
            media_key=cls._canonical_key(url, info),
            title=title_of(info),
            duration_s=durations[0] if durations else None,
            uploader=uploader_of(info),
            resolutions=formats.resolutions(info),
            has_audio=formats.has_audio(info),
            audio_estimated_bytes=formats.audio_estimate(info),
            found=keep(info),
            has_subtitles=has_subtitles(info),
        )


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(info: InfoDict) -> InfoDict:
    """`info` as plain JSON data, exactly as yt-dlp's `sanitize_info` gives it (lists for
    tuples, sets and lazy lists; the repr of any other object) but for its `_version`
    stamp, which nothing reads. Several times faster: a long manifest's info holds tens of
    thousands of fragments, which `sanitize_info` walked for a third of the lookup."""
    info.setdefault("epoch", int(time.time()))
    info.setdefault("_type", "video")
    plain: InfoDict = _plain_value(info)
    return plain


def _plain_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: v if type(v) in _SCALARS else _plain_value(v) for key, v in value.items()}
    if kind is list or isinstance(value, list | tuple | set | frozenset | LazyList):
        return [v if type(v) in _SCALARS else _plain_value(v) for v in value]
    if isinstance(value, dict):
        return {key: _plain_value(v) for key, v in value.items()}
    if isinstance(value, ImpersonateTarget):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
