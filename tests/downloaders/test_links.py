"""Which class takes a link, and the canonical key of every URL form (no network)."""

from __future__ import annotations

import pytest

from mediabot.domain.enums import Provider
from mediabot.downloaders import (
    Downloader,
    DownloadOptions,
    UnsupportedLinkError,
    downloader_for,
    get_resolutions,
    make_downloader,
)
from mediabot.downloaders.errors import PlaylistLinkError
from mediabot.downloaders.generic import GenericDownloader
from mediabot.downloaders.instagram import InstagramDownloader
from mediabot.downloaders.youtube import YouTubeDownloader

VIDEO_ID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={VIDEO_ID}",
        f"https://youtube.com/watch?v={VIDEO_ID}&t=42s",
        f"https://www.youtube.com/watch?feature=share&v={VIDEO_ID}&si=tracking",
        f"https://www.youtube.com/watch?v={VIDEO_ID}&list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI&index=3",
        f"https://youtu.be/{VIDEO_ID}",
        f"https://youtu.be/{VIDEO_ID}?t=10&si=AbCdEf",
        f"https://www.youtube.com/shorts/{VIDEO_ID}",
        f"https://youtube.com/shorts/{VIDEO_ID}?feature=share",
        f"https://music.youtube.com/watch?v={VIDEO_ID}&feature=share",
        f"https://m.youtube.com/watch?v={VIDEO_ID}",
        f"https://www.youtube.com/embed/{VIDEO_ID}?start=30",
        f"https://www.youtube-nocookie.com/embed/{VIDEO_ID}",
        f"https://www.youtube.com/live/{VIDEO_ID}?si=xyz",
        f"  https://www.youtube.com/watch?v={VIDEO_ID}  ",
    ],
)
def test_every_youtube_form_maps_to_one_key(url: str) -> None:
    cls = downloader_for(url)
    assert cls is YouTubeDownloader
    assert cls.provider is Provider.YOUTUBE
    assert cls.media_key(url) == f"youtube:{VIDEO_ID}"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/@RickAstleyYT",
        "https://www.youtube.com/watch?v=tooShort",
        "https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
    ],
)
def test_youtube_links_without_a_video_have_no_key(url: str) -> None:
    assert YouTubeDownloader.suitable(url)
    assert YouTubeDownloader.media_key(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        "https://music.youtube.com/playlist?list=OLAK5uy_abc",
        "https://www.youtube.com/watch?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
    ],
)
async def test_bare_playlist_links_are_refused_before_any_request(url: str) -> None:
    """A single lookup refuses them as playlists (the bot then lists the playlist)."""
    with pytest.raises(PlaylistLinkError) as caught:
        await get_resolutions(url, DownloadOptions())
    assert "is a playlist" in caught.value.user_message


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://www.instagram.com/p/C8xYz12AbCd/", "C8xYz12AbCd"),
        ("https://instagram.com/p/C8xYz12AbCd", "C8xYz12AbCd"),
        ("https://www.instagram.com/reel/C8xYz12AbCd/?igsh=MWQ1ZGUxMzBkMA==", "C8xYz12AbCd"),
        ("https://www.instagram.com/reels/C8xYz12AbCd/", "C8xYz12AbCd"),
        ("https://www.instagram.com/tv/C8xYz12AbCd/", "C8xYz12AbCd"),
        ("https://m.instagram.com/p/C8xYz12AbCd/?utm_source=ig_web_copy_link", "C8xYz12AbCd"),
        ("https://www.instagram.com/natgeo/p/C8xYz12AbCd/", "C8xYz12AbCd"),
        ("https://www.instagram.com/natgeo/reel/C8x-Yz_2AbC/", "C8x-Yz_2AbC"),
    ],
)
def test_instagram_posts_map_to_their_shortcode(url: str, code: str) -> None:
    cls = downloader_for(url)
    assert cls is InstagramDownloader
    assert cls.media_key(url) == f"instagram:{code}"


@pytest.mark.parametrize(
    "url",
    [
        "https://vimeo.com/76979871",
        "https://example.org/video.mp4",
        "http://127.0.0.1:8080/dash/manifest.mpd",
        "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
    ],
)
def test_other_http_links_go_to_the_generic_downloader(url: str) -> None:
    cls = downloader_for(url)
    assert cls is GenericDownloader
    assert cls.media_key(url) is None


@pytest.mark.parametrize(
    "url", ["ftp://example.org/a.mp4", "file:///etc/passwd", "not a link", "", "javascript:x"]
)
def test_links_no_class_takes_are_unsupported(url: str) -> None:
    with pytest.raises(UnsupportedLinkError):
        downloader_for(url)


def test_make_downloader_checks_its_arguments() -> None:
    url = f"https://youtu.be/{VIDEO_ID}"
    assert isinstance(make_downloader(url, 720), YouTubeDownloader)
    with pytest.raises(ValueError, match="resolution"):
        make_downloader(url, -1)


def test_the_cookies_file_is_chosen_per_provider(tmp_path: object) -> None:
    from pathlib import Path

    options = DownloadOptions(
        youtube_cookies_file=Path("/run/yt.txt"), instagram_cookies_file=Path("/run/ig.txt")
    )
    assert YouTubeDownloader._session(options).params()["cookiefile"] == "/run/yt.txt"
    assert InstagramDownloader._session(options).params()["cookiefile"] == "/run/ig.txt"
    assert "cookiefile" not in GenericDownloader._session(options).params()


def test_youtube_gets_the_deno_runtime_of_the_package() -> None:
    params = YouTubeDownloader._session(DownloadOptions()).params()
    path = params["js_runtimes"]["deno"]["path"]
    assert path.endswith("deno")


@pytest.mark.parametrize(
    ("cls", "url"),
    [(cls, url) for cls in (YouTubeDownloader, InstagramDownloader) for url in cls.TEST_URLS],
)
def test_each_downloader_takes_its_own_test_urls(cls: type[Downloader], url: str) -> None:
    # Each class lists the link forms it takes (as yt-dlp's extractors do); the registry
    # picks that class for every one of them, and each names one piece of media.
    assert downloader_for(url) is cls
    assert cls.media_key(url) is not None
