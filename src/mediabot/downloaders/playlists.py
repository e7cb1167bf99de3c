"""A playlist link's listing: its first items, each with the link and key of its own.

Whatever yt-dlp reads as `_type: playlist` is a playlist: YouTube playlists and channel
tabs, feeds, any extractor's lists. The listing is flat (one request per page of the list,
none per item), so even a long playlist answers within the lookup's time.
"""

from __future__ import annotations

import logging

from yt_dlp.utils import unsmuggle_url

from mediabot.domain.media import TITLE_MAX_CHARS
from mediabot.domain.playlist import PlaylistEntry, PlaylistOptions
from mediabot.downloaders import formats
from mediabot.downloaders.errors import NotFoundError, UnsupportedLinkError
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import downloader_for

logger = logging.getLogger(__name__)


async def get_playlist(url: str, options: DownloadOptions, max_items: int) -> PlaylistOptions:
    """The first `max_items` items of the playlist at `url`.

    Raises `UnsupportedLinkError` when yt-dlp reads no playlist there, `NotFoundError` when
    the playlist has no item with a link, and the lookup's other `DownloadError`s.
    """
    info = await downloader_for(url).list_playlist(url, options, max_items)
    if not formats.is_collection(info):
        raise UnsupportedLinkError(detail=f"no playlist at {url}")
    entries: list[PlaylistEntry] = []
    keys: set[str] = set()
    skipped = 0
    for raw in info.get("entries") or []:
        entry = _entry(raw) if raw else None
        if entry is None or entry.media_key in keys:  # a repeat would be sent again
            skipped += 1
        elif len(entries) < max_items:
            entries.append(entry)
            keys.add(entry.media_key)
    if not entries:
        raise NotFoundError(detail=f"no usable entry in the playlist at {url}")
    count = info.get("playlist_count")
    total = int(count) if isinstance(count, int | float) and count > 0 else None
    logger.info(
        "playlist %s: %d entries offered of %s, %d skipped", url, len(entries), total, skipped
    )
    return PlaylistOptions(
        url=url,
        title=str(info.get("title") or info.get("id") or url)[:TITLE_MAX_CHARS],
        entries=tuple(entries),
        total_count=total,
        skipped=skipped,
    )


def _entry(raw: InfoDict) -> PlaylistEntry | None:
    """One usable entry: a link of its own; nested playlists are left out."""
    if raw.get("_type") == "playlist" or "entries" in raw:
        return None
    link = raw.get("url") if raw.get("_type") in ("url", "url_transparent") else None
    link = link or raw.get("webpage_url") or raw.get("original_url")
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        return None
    link, _ = unsmuggle_url(link)  # feeds smuggle their item ids into the link
    try:
        downloader = downloader_for(link)
    except UnsupportedLinkError:
        return None
    duration = raw.get("duration")
    title = raw.get("title")
    return PlaylistEntry(
        url=link,
        provider=downloader.provider,
        media_key=downloader.entry_key(link, raw),
        title=str(title)[:TITLE_MAX_CHARS] if title else None,
        duration_s=float(duration) if isinstance(duration, int | float) and duration > 0 else None,
    )
