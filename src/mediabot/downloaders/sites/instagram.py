"""Instagram: reels, video posts, photo posts and carousels, keyed `instagram:<shortcode>`."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from yt_dlp.extractor.instagram import _pk_to_id

from mediabot.domain.enums import Provider
from mediabot.domain.links import LinkKind, RecognisedLink
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.errors import InstagramLoginError, InstagramRateLimitError
from mediabot.downloaders.extractors import SiteExtractors
from mediabot.downloaders.failures import PushBackPattern
from mediabot.downloaders.formats import InfoDict

_EXTRACTORS = SiteExtractors("yt_dlp.extractor.instagram")
_HOST = "www.instagram.com"
_HOST_ALIASES = frozenset({"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am"})
"""Hosts people paste that serve the same pages; yt-dlp's patterns know only the first two."""
_POST_URL = "https://www.instagram.com/p/{}/"


class InstagramDownloader(Downloader):
    """Posts on Instagram; a carousel comes back as its photos and videos in order.

    yt-dlp's Instagram extractor does the site work (kept current from PyPI), and its URL
    patterns tell which links are posts and their shortcodes. A share link
    (`/share/reel/TOKEN`) carries a token, not the post's code: it is followed to the post it
    redirects to (`downloaders/share.py`). A photo post has no playable formats, so
    extraction is told to tolerate that and the photos are fetched from the image candidates
    it reports.
    """

    provider = Provider.INSTAGRAM
    cookies_domain = "instagram.com"
    _accepts_collections = True
    _extra_params: ClassVar[dict[str, Any]] = {"ignore_no_formats_error": True}
    push_backs: ClassVar[tuple[PushBackPattern, ...]] = (
        # instagram.py: a login redirect "You have exceeded the rate-limit for accessing
        # posts anonymously", or Instagram's HTTP 429
        (
            r"rate-limit for accessing posts"
            r"|\[instagram[^\]]*\].*(?:http error 429|too many requests)",
            InstagramRateLimitError,
        ),
        # instagram.py: raise_login_required(...) and the login page in place of the post
        (
            r"\[instagram[^\]]*\].*(?:locked behind the login page|registered users"
            r"|restricted video|need to log in|login required|redirected to the login page"
            r"|empty media response"
            r"|use --cookies)",
            InstagramLoginError,
        ),
    )
    TEST_URLS: ClassVar[tuple[str, ...]] = (
        "https://www.instagram.com/p/C1a2b3c4D5e/",
        "https://www.instagram.com/reel/C1a2b3c4D5e/?igsh=abc",
        "https://instagram.com/reels/C1a2b3c4D5e",
        "https://www.instagram.com/someone/p/C1a2b3c4D5e/",
        "https://m.instagram.com/p/C1a2b3c4D5e/",
        "instagram://media?id=482584233761418119",
    )

    @classmethod
    def suitable(cls, url: str) -> bool:
        return cls.recognise(url) is not None

    @classmethod
    def recognise(cls, url: str) -> RecognisedLink | None:
        url = _with_main_host(url.strip())
        ie = _EXTRACTORS.first_suitable(url)
        if ie is not None and ie.__name__ == "InstagramIOSIE":
            code = _pk_to_id(ie._match_id(url))
            return _link(_POST_URL.format(code), LinkKind.VIDEO, code)
        if not url.lower().startswith(("http://", "https://")) or _host(url) not in _HOST_ALIASES:
            return None
        if urlsplit(url).path.startswith("/share/"):
            # yt-dlp leaves these to its generic extractor, which follows the redirect.
            return _link(url, LinkKind.SHARE)
        if ie is not None and ie.__name__ == "InstagramIE":
            return _link(url, LinkKind.VIDEO, ie._match_id(url))
        if ie is not None and ie.__name__ in ("InstagramUserIE", "InstagramTagIE"):
            return RecognisedLink(
                url, Provider.INSTAGRAM, LinkKind.PLAYLIST, playlist_id=ie._match_id(url)
            )
        return _link(url, LinkKind.PAGE)

    @classmethod
    def _canonical_url(cls, link: RecognisedLink) -> str:
        if link.media_key is None:
            return link.url
        return _POST_URL.format(link.media_key.removeprefix("instagram:"))

    @classmethod
    def _key_from_info(cls, info: InfoDict) -> str:
        return f"instagram:{info.get('id')}"


def _link(url: str, kind: LinkKind, code: str | None = None) -> RecognisedLink:
    return RecognisedLink(
        url=url,
        provider=Provider.INSTAGRAM,
        kind=kind,
        media_key=f"instagram:{code}" if code else None,
    )


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _with_main_host(url: str) -> str:
    """`url` on www.instagram.com when it is on one of the hosts that serve the same pages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if (parts.hostname or "").lower() not in _HOST_ALIASES or parts.port is not None:
        return url
    return urlunsplit((parts.scheme.lower(), _HOST, parts.path, parts.query, parts.fragment))
