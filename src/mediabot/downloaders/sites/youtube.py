"""YouTube: every URL form yt-dlp's YouTube extractors take; a video is `youtube:<id>`."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qs, urljoin, urlsplit

from mediabot.domain.enums import Provider
from mediabot.domain.links import LinkKind, RecognisedLink
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.errors import (
    PlaylistLinkError,
    YouTubeAgeRestrictedError,
    YouTubeBotCheckError,
    YouTubeMembersOnlyError,
)
from mediabot.downloaders.extractors import SiteExtractors
from mediabot.downloaders.failures import PushBackPattern
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.guarded import origin_of
from mediabot.downloaders.options import DownloadOptions

_EXTRACTORS = SiteExtractors("yt_dlp.extractor.youtube")
_WATCH_URL = "https://www.youtube.com/watch?v={}"
_PLAYLIST_RETURN_TYPES = frozenset({"playlist", "any"})
_POT_PROVIDER_ARGS = "youtubepot-bgutilhttp"


class YouTubeDownloader(Downloader):
    """Videos, shorts, music tracks and finished live streams on YouTube.

    Which links are YouTube's, and the video or playlist id in each, is what yt-dlp's own
    YouTube extractors say (`downloaders/extractors.py`): youtu.be, youtubekids.com,
    youtube-nocookie.com, youtube.googleapis.com/v/, watch_popup, embed/, shorts/, live/,
    music.youtube.com, the Invidious mirrors, and the rest. An attribution link is the
    link in its `u` parameter.
    """

    provider = Provider.YOUTUBE
    cookies_domain = "youtube.com"
    push_backs: ClassVar[tuple[PushBackPattern, ...]] = (
        # yt-dlp passes on YouTube's own reason (youtube/_video.py, the playability status)
        (r"confirm you.re not a bot", YouTubeBotCheckError),
        (
            r"\[youtube[^\]]*\].*(?:confirm your age|age-restricted|inappropriate for some users"
            r"|age.verification)",
            YouTubeAgeRestrictedError,
        ),
        (r"\[youtube[^\]]*\].*(?:members[- ]only|join this channel)", YouTubeMembersOnlyError),
    )
    TEST_URLS: ClassVar[tuple[str, ...]] = (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?t=42",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&feature=share",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?si=abc",
        "https://www.youtubekids.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.googleapis.com/v/dQw4w9WgXcQ",
        "https://www.youtube.com/watch_popup?v=dQw4w9WgXcQ",
        "https://www.youtube.com/attribution_link?a=x&u=/watch%3Fv%3DdQw4w9WgXcQ%26feature%3Dshare",
    )

    @classmethod
    def suitable(cls, url: str) -> bool:
        return cls.recognise(url) is not None

    @classmethod
    def recognise(cls, url: str) -> RecognisedLink | None:
        url = _unwrapped(url.strip())
        if not url.lower().startswith(("http://", "https://")):
            return None
        ie = _EXTRACTORS.first_suitable(url)
        if ie is None:
            return None
        video = _EXTRACTORS.groups(_EXTRACTORS.named("YoutubeIE"), url).get("id")
        groups = _EXTRACTORS.groups(ie, url)
        playlist = groups.get("playlist_id") or _query_value(url, "list")
        if video and playlist:
            return _link(url, LinkKind.VIDEO_IN_PLAYLIST, video, playlist)
        if video and ie.__name__ == "YoutubeIE":
            return _link(url, LinkKind.VIDEO, video)
        if ie._RETURN_TYPE in _PLAYLIST_RETURN_TYPES and groups.get("id"):
            return _link(url, LinkKind.PLAYLIST, None, groups["id"])
        return _link(url, LinkKind.PAGE)

    @classmethod
    def _canonical_url(cls, link: RecognisedLink) -> str:
        # One video: the canonical watch URL, without timestamps, tracking or `list=`.
        if link.media_key is None:
            return link.url
        return _WATCH_URL.format(link.media_key.removeprefix("youtube:"))

    @classmethod
    def _check_link(cls, url: str) -> None:
        super()._check_link(url)
        link = cls.recognise(url)
        if link is not None and link.kind is LinkKind.PLAYLIST:
            raise PlaylistLinkError(detail=f"playlist link {url}")

    @classmethod
    def _site_params(cls, options: DownloadOptions) -> dict[str, Any]:
        if options.youtube_pot_provider_url is None:
            return cls._extra_params
        # bgutil-ytdlp-pot-provider's HTTP provider (installed as the `pot` extra)
        provider = {"base_url": [options.youtube_pot_provider_url]}
        return {**cls._extra_params, "extractor_args": {_POT_PROVIDER_ARGS: provider}}

    @classmethod
    def _direct_origins(cls, options: DownloadOptions) -> tuple[str, ...]:
        url = options.youtube_pot_provider_url
        return (origin_of(url),) if url else ()

    @classmethod
    def _key_from_info(cls, info: InfoDict) -> str:
        return f"youtube:{info.get('id')}"


def _link(
    url: str, kind: LinkKind, video: str | None = None, playlist: str | None = None
) -> RecognisedLink:
    return RecognisedLink(
        url=url,
        provider=Provider.YOUTUBE,
        kind=kind,
        media_key=f"youtube:{video}" if video else None,
        playlist_id=playlist,
    )


def _query_value(url: str, name: str) -> str | None:
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return None
    return values[0] if values else None


def _unwrapped(url: str) -> str:
    """An attribution link's target (`/attribution_link?a=…&u=/watch?v=ID…`), else `url`.

    yt-dlp reaches the target by following YouTube's redirect; the target is in the link.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    target = _query_value(url, "u")
    if parts.path.rstrip("/") != "/attribution_link" or not target or not target.startswith("/"):
        return url
    if _EXTRACTORS.first_suitable(url) is None:
        return url  # not a YouTube host
    return urljoin(f"{parts.scheme}://{parts.netloc}", target)
