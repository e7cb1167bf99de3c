"""What a site is to the downloaders: the links it takes, how it names their media, and
what its yt-dlp needs (cookies, parameters, its proxy's name), all known before any request.

One subclass per site (`youtube.py`, `instagram.py`, `generic.py`) overrides these class
methods; the probe, the choice of an execution and the download template build on them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from mediabot.domain.enums import Provider
from mediabot.domain.links import LinkKind, RecognisedLink
from mediabot.domain.media import ProgressCallback
from mediabot.downloaders.errors import UnsupportedLinkError
from mediabot.downloaders.failures import PushBackPattern, learn_push_backs
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.ytdl import YtdlSession


class Site(ABC):
    """A site's recognition and settings: class methods only, no network."""

    provider: ClassVar[Provider]
    """The site's name (`Provider.declare`): its rows, keys, cookies and proxy are keyed by it."""
    cookies_domain: ClassVar[str | None] = None
    """The domain its cookies are for (`<SITE>_COOKIES_FILE`); None: the site takes none."""
    fallback: ClassVar[bool] = False
    """Takes any link the other sites do not: the registry asks it last."""
    TEST_URLS: ClassVar[tuple[str, ...]] = ()
    """Link forms this class takes, each naming one piece of media (the registry's tests)."""
    push_backs: ClassVar[tuple[PushBackPattern, ...]] = ()
    """How the site refuses the bot itself, in yt-dlp's words (`failures.learn_push_backs`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "push_backs" in vars(cls):
            learn_push_backs(cls.push_backs)

    _accepts_collections: ClassVar[bool] = False
    _extra_params: ClassVar[dict[str, Any]] = {}

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
        """The site's cookies file, as the operator configured it for this provider."""
        return options.cookies_files.get(cls.provider)

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

    @classmethod
    def entry_key(cls, url: str, entry: InfoDict) -> str:
        """The media key of a playlist entry at `url`, from its flat listing alone: the key
        a lookup of the entry's own link would record, as far as the listing tells it."""
        info = {"extractor_key": entry.get("ie_key") or "generic", "id": entry.get("id")}
        return cls._canonical_key(url, {**info, "webpage_url": url})

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
