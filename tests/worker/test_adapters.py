"""The adapters' mappings that need nothing running: "no resolution" reaches the downloader."""

from __future__ import annotations

from mediabot.domain.enums import MediaKind
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import make_downloader
from mediabot.worker.adapters import RegistryDownloaders


def test_no_resolution_is_none_up_to_the_downloader() -> None:
    downloaders = RegistryDownloaders(DownloadOptions())
    audio = downloaders("https://example.com/a.m4a", None, MediaKind.AUDIO)
    video = downloaders("https://example.com/v.mp4", 720, MediaKind.VIDEO)
    assert isinstance(audio, Downloader) and audio._res == 0
    assert isinstance(video, Downloader) and video._res == 720
    assert make_downloader("https://example.com/a.m4a")._res == 0
