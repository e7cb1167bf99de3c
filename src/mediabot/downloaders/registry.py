"""Choosing the downloader class for a link: an ordered registry, the generic one last."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from typing import Any

from mediabot.domain.enums import MediaKind, Provider
from mediabot.domain.links import RecognisedLink
from mediabot.domain.media import MediaOptions
from mediabot.downloaders import sites
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.errors import UnsupportedLinkError
from mediabot.downloaders.options import DownloadOptions


def _site_classes() -> tuple[type[Downloader], ...]:
    """Every downloader class the modules of `downloaders.sites` define, by module name,
    the fallback ones (`Site.fallback`) last."""
    found: list[type[Downloader]] = []
    for module_info in sorted(pkgutil.iter_modules(sites.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{sites.__name__}.{module_info.name}")
        found.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Downloader)
            and value.__module__ == module.__name__
            and not inspect.isabstract(value)
        )
    return tuple(sorted(found, key=lambda cls: cls.fallback))


DOWNLOADERS: tuple[type[Downloader], ...] = _site_classes()
"""One class per site, most specific first; the fallback (`GenericDownloader`) takes whatever
is left."""


def providers() -> tuple[Provider, ...]:
    """The providers of the sites mediabot knows, in the registry's order."""
    return tuple(dict.fromkeys(cls.provider for cls in DOWNLOADERS))


def recognise(url: str) -> RecognisedLink:
    """What `url` is: its provider, kind and canonical key (no network).

    `UnsupportedLinkError` when no class takes it.
    """
    try:
        for downloader in DOWNLOADERS:
            link = downloader.recognise(url)
            if link is not None:
                return link
    except ValueError as exc:  # urllib and yt-dlp's patterns on `https://[::1/x` and the like
        raise UnsupportedLinkError(detail=f"malformed link {url!r}: {exc}") from exc
    raise UnsupportedLinkError(detail=f"no downloader for {url!r}")


def downloader_for(url: str) -> type[Downloader]:
    """The class that handles `url`; `UnsupportedLinkError` when none does."""
    try:
        for downloader in DOWNLOADERS:
            if downloader.suitable(url):
                return downloader
    except ValueError as exc:
        raise UnsupportedLinkError(detail=f"malformed link {url!r}: {exc}") from exc
    raise UnsupportedLinkError(detail=f"no downloader for {url!r}")


async def get_resolutions(url: str, options: DownloadOptions | None = None) -> MediaOptions:
    """What `url` offers, from the class that handles it."""
    return await downloader_for(url).get_resolutions(url, options)


def make_downloader(
    url: str,
    res: int | None = None,
    *,
    options: DownloadOptions | None = None,
    kind: MediaKind | None = None,
    found: Mapping[str, Any] | None = None,
    clip: bool = False,
) -> Downloader:
    """A downloader for `url`: video at height `res`, or audio only when `res` is None (or 0);
    `found`: what the offer's lookup found, used instead of a second lookup while fresh;
    `clip`: its streams are for the clip cutter (`Selection`)."""
    return downloader_for(url)(url, res, options=options, kind=kind, found=found, clip=clip)
