"""The knobs a download takes, read once from the settings and passed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mediabot.config import Settings


@dataclass(frozen=True, slots=True)
class DownloadOptions:
    """Limits and credentials for one download.

    `cookies_file` applies to every provider when set; otherwise each downloader class picks
    its own provider's file (`youtube_cookies_file`, `instagram_cookies_file`).
    `max_duration_s=None` lifts the duration limit.
    """

    allow_private_urls: bool = False
    max_duration_s: int | None = 180 * 60
    cookies_file: Path | None = None
    youtube_cookies_file: Path | None = None
    instagram_cookies_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DownloadOptions:
        return cls(
            allow_private_urls=settings.allow_private_urls,
            max_duration_s=settings.max_duration_s,
            youtube_cookies_file=settings.youtube_cookies_file,
            instagram_cookies_file=settings.instagram_cookies_file,
        )
