"""Which class takes a link, and the canonical key of every URL form (no network).

The link forms are yt-dlp's own: every test URL its YouTube and Instagram extractor classes
list (`_TESTS`) must reach the right downloader with the id yt-dlp's pattern finds in it.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import yt_dlp.extractor.instagram
import yt_dlp.extractor.youtube
from yt_dlp.extractor.common import InfoExtractor

from mediabot.domain.enums import Provider
from mediabot.domain.links import LinkKind
from mediabot.downloaders import (
    Downloader,
    DownloadOptions,
    UnsupportedLinkError,
    downloader_for,
    get_resolutions,
    make_downloader,
    recognise,
)
from mediabot.downloaders.errors import PlaylistLinkError
from mediabot.downloaders.registry import DOWNLOADERS
from mediabot.downloaders.sites.generic import GenericDownloader
from mediabot.downloaders.sites.instagram import InstagramDownloader
from mediabot.downloaders.sites.youtube import YouTubeDownloader

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
    assert cls.provider == Provider.YOUTUBE
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
    assert recognise(url).kind in (LinkKind.PAGE, LinkKind.PLAYLIST)
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
        cookies_files={"youtube": Path("/run/yt.txt"), "instagram": Path("/run/ig.txt")}
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
    [(cls, url) for cls in DOWNLOADERS for url in cls.TEST_URLS],
)
def test_each_downloader_takes_its_own_test_urls(cls: type[Downloader], url: str) -> None:
    # Each class lists the link forms it takes (as yt-dlp's extractors do); the registry
    # picks that class for every one of them, and each names one piece of media.
    assert downloader_for(url) is cls
    assert cls.media_key(url) is not None


def _ytdlp_test_urls(module: Any) -> Iterator[tuple[str, str]]:
    """(extractor class name, URL) of every http(s) test URL yt-dlp's `module` lists for
    the class that takes it."""
    for name, ie in inspect.getmembers(module, inspect.isclass):
        if not issubclass(ie, InfoExtractor) or not name.endswith("IE"):
            continue
        for test in getattr(ie, "_TESTS", None) or []:
            url = test.get("url", "")
            if url.startswith(("http://", "https://")) and ie.suitable(url):
                yield name, url


YOUTUBE_TESTS = sorted(set(_ytdlp_test_urls(yt_dlp.extractor.youtube)))
INSTAGRAM_TESTS = sorted(set(_ytdlp_test_urls(yt_dlp.extractor.instagram)))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup or connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network used: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_yt_dlp_lists_enough_test_urls_to_judge_by() -> None:
    assert len(YOUTUBE_TESTS) > 150
    assert len(INSTAGRAM_TESTS) > 10


@pytest.mark.parametrize(("extractor", "url"), YOUTUBE_TESTS)
@pytest.mark.usefixtures("no_network")
def test_every_youtube_test_url_of_yt_dlp_goes_to_the_youtube_downloader(
    extractor: str, url: str
) -> None:
    link = recognise(url)
    assert downloader_for(url) is YouTubeDownloader
    assert link.provider == Provider.YOUTUBE
    ie = getattr(yt_dlp.extractor.youtube, extractor)
    if extractor == "YoutubeIE":
        assert link.kind is LinkKind.VIDEO
        assert link.media_key == f"youtube:{ie._match_id(url)}"
        assert YouTubeDownloader._source_url(url) == (
            f"https://www.youtube.com/watch?v={ie._match_id(url)}"
        )
    elif extractor == "YoutubeYtBeIE":
        match = ie._match_valid_url(url)
        assert link.kind is LinkKind.VIDEO_IN_PLAYLIST
        assert link.media_key == f"youtube:{match.group('id')}"
        assert link.playlist_id == match.group("playlist_id")
    elif extractor in ("YoutubePlaylistIE", "YoutubeTabIE"):
        assert link.kind in (LinkKind.PLAYLIST, LinkKind.VIDEO_IN_PLAYLIST)
        assert link.playlist_id
        if link.kind is LinkKind.PLAYLIST:
            assert link.playlist_id == ie._match_id(url)
            assert link.media_key is None
    else:
        assert link.kind is LinkKind.PAGE
        assert link.media_key is None


@pytest.mark.parametrize(("extractor", "url"), INSTAGRAM_TESTS)
@pytest.mark.usefixtures("no_network")
def test_every_instagram_test_url_of_yt_dlp_goes_to_the_instagram_downloader(
    extractor: str, url: str
) -> None:
    link = recognise(url)
    assert downloader_for(url) is InstagramDownloader
    ie = getattr(yt_dlp.extractor.instagram, extractor)
    if extractor == "InstagramIE":
        assert link.kind is LinkKind.VIDEO
        assert link.media_key == f"instagram:{ie._match_id(url)}"
    elif extractor in ("InstagramUserIE", "InstagramTagIE"):
        assert link.kind is LinkKind.PLAYLIST
        assert link.playlist_id == ie._match_id(url)
    else:
        assert link.media_key is None


def test_the_ios_form_names_the_post_by_its_shortcode() -> None:
    # yt-dlp's own test: instagram://media?id=482584233761418119 is the post aye83DjauH
    link = recognise("instagram://media?id=482584233761418119")
    assert link.media_key == "instagram:aye83DjauH"
    assert link.url == "https://www.instagram.com/p/aye83DjauH/"


@pytest.mark.parametrize(
    "url",
    [
        f"https://youtu.be/{VIDEO_ID}",
        f"http://youtu.be/{VIDEO_ID}?si=x",
        f"https://www.youtube.com/watch?v={VIDEO_ID}&t=5",
        f"https://www.youtubekids.com/watch?v={VIDEO_ID}",
        f"https://youtube.googleapis.com/v/{VIDEO_ID}",
        f"https://www.youtube.com/watch_popup?v={VIDEO_ID}",
        f"https://www.youtube.com/v/{VIDEO_ID}?version=3",
        f"https://www.youtube.com/e/{VIDEO_ID}",
        f"https://www.youtube.com/?v={VIDEO_ID}",
        f"https://www.youtube.com/attribution_link?a=JdfC0C9V6ZI&u=%2Fwatch%3Fv%3D{VIDEO_ID}%26feature%3Dshare",
        f"https://www.youtube.com/attribution_link?a=8g8kPrPIi-ecwIsS&u=/watch?v={VIDEO_ID}&feature=em-uploademail",
        f"https://invidio.us/watch?v={VIDEO_ID}",
        f"https://www.youtube.com/watch?v={VIDEO_ID}&list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
    ],
)
@pytest.mark.usefixtures("no_network")
def test_the_forms_the_issue_lists_name_one_video(url: str) -> None:
    link = recognise(url)
    assert link.provider == Provider.YOUTUBE
    assert link.media_key == f"youtube:{VIDEO_ID}"
    assert link.identity == f"youtube:{VIDEO_ID}"
    assert YouTubeDownloader._source_url(url) == f"https://www.youtube.com/watch?v={VIDEO_ID}"


@pytest.mark.parametrize(
    ("url", "kind", "playlist"),
    [
        (
            "https://www.youtube.com/embed/videoseries?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
            LinkKind.PLAYLIST,
            "PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        ),
        (
            "https://www.youtube.com/embed/live_stream?channel=UC2_KI6RB__jGdlnK6dvFEZA",
            LinkKind.PAGE,
            None,
        ),
        (
            f"https://youtu.be/{VIDEO_ID}?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
            LinkKind.VIDEO_IN_PLAYLIST,
            "PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI",
        ),
        ("https://www.youtube.com/@RickAstleyYT/videos", LinkKind.PLAYLIST, "@RickAstleyYT"),
    ],
)
def test_embeds_of_playlists_and_live_streams_are_not_video_ids(
    url: str, kind: LinkKind, playlist: str | None
) -> None:
    link = recognise(url)
    assert (link.kind, link.playlist_id) == (kind, playlist)
    assert link.media_key != "youtube:videoseries" and link.media_key != "youtube:live_stream"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.instagram.com/share/reel/BAGEr5Qw1x",
        "https://instagram.com/share/p/BAGEr5Qw1x/",
        "https://www.instagram.com/share/BAGEr5Qw1x",
    ],
)
def test_instagram_share_links_are_not_rewritten_to_posts(url: str) -> None:
    link = recognise(url)
    assert downloader_for(url) is InstagramDownloader
    assert link.kind is LinkKind.SHARE
    assert link.media_key is None
    assert urlsplit(InstagramDownloader._source_url(url)).path == urlsplit(url).path


@pytest.mark.parametrize(
    "url",
    ["https://instagr.am/p/C8xYz12AbCd/", "https://m.instagram.com/reel/C8xYz12AbCd/?igsh=x"],
)
def test_instagram_host_aliases_use_yt_dlps_patterns(url: str) -> None:
    link = recognise(url)
    assert link.media_key == "instagram:C8xYz12AbCd"
    assert InstagramDownloader._source_url(url) == "https://www.instagram.com/p/C8xYz12AbCd/"
