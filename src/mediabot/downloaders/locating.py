"""Streaming instead of downloading: the remote inputs `download()` would fetch, pinned and
guarded, for the cutter to read parts from (a `StreamPlan`), or None to download instead."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import formats, streams
from mediabot.downloaders.file_probe import sizes_agree
from mediabot.downloaders.formats import InfoDict, thumbnail_url_of, title_of, uploader_of
from mediabot.downloaders.limits import DurationLimit
from mediabot.downloaders.selection import Selection
from mediabot.downloaders.streams import StreamGuard, StreamPlan
from mediabot.downloaders.subtitles import SubtitleTrack, choose_subtitles
from mediabot.downloaders.ytdl import YtdlSession

if TYPE_CHECKING:  # the sources are loaded only when a plan is made
    from mediabot.media.sources import SegmentedSource, SplitSource

logger = logging.getLogger(__name__)


_Located: TypeAlias = "tuple[SplitSource | SegmentedSource, int | None, int | None, int | None]"
"""A stream plan's source, its announced size, and the picture's width and height."""


class Locating(Selection):
    """`locate_streams`: the stream plan of what was asked, or None."""

    async def locate_streams(self, cover_dir: Path | None = None) -> StreamPlan | None:
        """The formats `download()` would fetch, as remote inputs to cut from, or None.

        Probes the link exactly as `download()` does (same guard, limits, resolution rule
        and format choice, same errors), then returns a `StreamPlan` when every chosen
        format is one plain HTTP(S) file with byte ranges and already H.264/AAC in MP4 or
        M4A (for a clip's sound, also one such file that holds the picture too: the clip
        cutter takes the sound alone), or HLS / segmented DASH (whose fragments are read
        while parts are cut). None
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

    async def fetch_subtitles(
        self,
        path: Path,
        user_language: str,
        *,
        start_s: float = 0.0,
        end_s: float | None = None,
    ) -> SubtitleTrack | None:
        """Write the link's subtitles for a user speaking `user_language` into `path` as
        SRT (`downloaders.subtitles.choose_subtitles`: theirs where the source has it,
        else the original), cut to `start_s`-`end_s` and shifted to start at 0; the track
        written, or None when the source has none (or no cue falls in that time).

        Probes the link as `download()` does (same guard and limits); the file is fetched
        through the guard. Raises `DownloadError`, and `SubtitleError` for a file that
        cannot be read as subtitles.
        """
        from mediabot.media.subtitles import fetch_srt

        session = self._session(self._options)
        try:
            info = await self._probe(self._url, session)
        finally:
            session.close()
        track = choose_subtitles(info, user_language)
        if track is None:
            return None
        guard = StreamGuard.for_options(self._options, self.provider)
        written = await fetch_srt(
            track.url,
            track.ext,
            path,
            headers=track.headers,
            url_check=guard,
            start_s=start_s,
            end_s=end_s,
        )
        return track if written else None

    async def _locate(self, session: YtdlSession, cover_dir: Path | None) -> StreamPlan | None:
        info = await self._info(session)
        execution = self._execution_for(info)
        kind = execution.kind
        if kind is MediaKind.PHOTO:
            return None
        chosen = await session.run(lambda: execution.select_formats(session, info))
        duration = formats.duration_of(info)
        has_audio = formats.has_audio(info)
        if streams.streamable(chosen, kind, source_has_audio=has_audio, muxed_sound=self._clip):
            remote = await self._remote_files(session, chosen, kind, duration)
        elif streams.fragmented(chosen, kind):
            remote = await self._fragments(session, chosen, kind, duration)
        else:
            logger.info("Not streaming %s: formats %s", self._url, _format_ids(chosen))
            return None
        if remote is None:
            return None
        source, size, width, height = remote
        thumbnail_url = thumbnail_url_of(info)
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
            title=title_of(info),
            uploader=uploader_of(info),
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


def _format_ids(chosen: list[InfoDict]) -> str:
    return "+".join(str(fmt.get("format_id")) for fmt in chosen) or "none"
