"""What one link offers, found by the downloaders and kept as an `Outcome` that travels.

A playlist link (whatever yt-dlp lists as a playlist) is a playlist; a video link that also
names a playlist (`&list=`) is the video and its playlist, listed at the same time; any
other link is its video (or post). A `DownloadError` becomes `Refused` (its class and its
words, so that the user hears it in their language); anything else, and a lookup past its
time, becomes the lookup's own failure (`Refused` with no error class: "try again").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mediabot.domain.lookups import Found, Outcome, Refused
from mediabot.domain.media import MediaOptions
from mediabot.domain.playlist import PlaylistOptions, may_carry_playlist
from mediabot.downloaders.errors import DownloadError, PlaylistLinkError, UnsupportedLinkError
from mediabot.downloaders.registry import recognise

logger = logging.getLogger(__name__)

Lookup = Callable[[str], Awaitable[MediaOptions]]
PlaylistLookup = Callable[[str], Awaitable[PlaylistOptions]]
Finder = Callable[[str], Awaitable[Outcome]]
"""`url -> what it offers, or why not`; never raises but for cancellation."""

FAILED = Refused(error="", message_id="", values={}, detail="the lookup failed")
"""The lookup's own failure (a crash, a timeout): the user is asked to try again."""


def identity(url: str) -> str:
    """What tells links apart for a lookup: one key for every form of one video
    (`youtu.be/ID`, `watch?v=ID&t=5`), from the URL alone; the URL itself for a link no
    downloader recognises."""
    try:
        return recognise(url).identity
    except UnsupportedLinkError:
        return url


def refused(error: DownloadError) -> Refused:
    return Refused(type(error).__name__, error.message_id, dict(error.values), error.detail)


def finder(lookup: Lookup, playlist_lookup: PlaylistLookup | None, timeout_s: float) -> Finder:
    """A `Finder` over the downloaders' lookups (`playlist_lookup` None: no playlists),
    ended at `timeout_s` at the latest (the lookups end themselves sooner, with a reason)."""

    async def find(url: str) -> Outcome:
        try:
            async with asyncio.timeout(timeout_s):
                return await _find(lookup, playlist_lookup, url)
        except DownloadError as exc:
            logger.info("link refused: %s (%s): %s", url, type(exc).__name__, exc.detail)
            return refused(exc)
        except TimeoutError:
            logger.warning("lookup timed out after %.0f s: %s", timeout_s, url)
            return FAILED
        except Exception:
            logger.exception("lookup failed: %s", url)
            return FAILED

    return find


async def _find(lookup: Lookup, playlist_lookup: PlaylistLookup | None, url: str) -> Found:
    if playlist_lookup is None:
        return Found(media=await lookup(url))
    beside = (
        asyncio.ensure_future(_playlist_beside(playlist_lookup, url))
        if may_carry_playlist(url)
        else None
    )
    try:
        media = await lookup(url)
    except PlaylistLinkError:
        if beside is not None:
            beside.cancel()
        return Found(playlist=await playlist_lookup(url))
    except BaseException:
        if beside is not None:
            beside.cancel()
        raise
    return Found(media=media, playlist=await beside if beside is not None else None)


async def _playlist_beside(playlist_lookup: PlaylistLookup, url: str) -> PlaylistOptions | None:
    """The playlist a video link also names; None when it cannot be listed (the video is
    offered all the same)."""
    try:
        return await playlist_lookup(url)
    except DownloadError as exc:
        logger.info("no playlist beside %s (%s): %s", url, type(exc).__name__, exc.detail)
        return None
