"""Downloaders: one polymorphic family over yt-dlp, chosen from the link by a registry.

The names below are loaded on first use, so that importing a light submodule
(`mediabot.downloaders.errors`, which the bot's texts need) does not load yt-dlp: the bot
process never imports it (`tests/bot/test_thin_bot.py`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mediabot.downloaders.base import Downloader
    from mediabot.downloaders.errors import (
        DownloadError,
        GeoBlockedError,
        LiveStreamError,
        LoginRequiredError,
        NetworkError,
        NotFoundError,
        PrivateAddressError,
        PrivateOrRemovedError,
        TooLongError,
        UnavailableResolutionError,
        UnsupportedLinkError,
    )
    from mediabot.downloaders.options import DownloadOptions
    from mediabot.downloaders.registry import (
        downloader_for,
        get_resolutions,
        make_downloader,
        recognise,
    )
    from mediabot.downloaders.streams import StreamPlan

_HOMES = {
    "Downloader": "base",
    "DownloadError": "errors",
    "GeoBlockedError": "errors",
    "LiveStreamError": "errors",
    "LoginRequiredError": "errors",
    "NetworkError": "errors",
    "NotFoundError": "errors",
    "PrivateAddressError": "errors",
    "PrivateOrRemovedError": "errors",
    "TooLongError": "errors",
    "UnavailableResolutionError": "errors",
    "UnsupportedLinkError": "errors",
    "DownloadOptions": "options",
    "downloader_for": "registry",
    "get_resolutions": "registry",
    "make_downloader": "registry",
    "recognise": "registry",
    "StreamPlan": "streams",
}

__all__ = [
    "DownloadError",
    "DownloadOptions",
    "Downloader",
    "GeoBlockedError",
    "LiveStreamError",
    "LoginRequiredError",
    "NetworkError",
    "NotFoundError",
    "PrivateAddressError",
    "PrivateOrRemovedError",
    "StreamPlan",
    "TooLongError",
    "UnavailableResolutionError",
    "UnsupportedLinkError",
    "downloader_for",
    "get_resolutions",
    "make_downloader",
    "recognise",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
