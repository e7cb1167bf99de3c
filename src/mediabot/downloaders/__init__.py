"""Downloaders: one polymorphic family over yt-dlp, chosen from the link by a registry."""

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
