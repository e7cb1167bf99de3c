"""The adapters' mappings that need nothing running: "no resolution" reaches the downloader."""

from __future__ import annotations

from mediabot.domain.enums import MediaKind
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import make_downloader
from mediabot.worker.adapters import RegistryDownloaders
from tests.worker.steps.worker_fakes import make_request


def test_no_resolution_is_none_up_to_the_downloader() -> None:
    downloaders = RegistryDownloaders(DownloadOptions())
    audio = downloaders(make_request(url="https://example.com/a.m4a"))
    video = downloaders(
        make_request(url="https://example.com/v.mp4", kind=MediaKind.VIDEO, resolution=720)
    )
    assert isinstance(audio, Downloader) and audio._res == 0
    assert isinstance(video, Downloader) and video._res == 720
    assert make_downloader("https://example.com/a.m4a")._res == 0
