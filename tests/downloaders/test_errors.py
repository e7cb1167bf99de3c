"""yt-dlp's failures become errors a person can act on; the raw text stays in `detail`."""

from __future__ import annotations

import sys

import pytest
from yt_dlp.networking.exceptions import TransportError
from yt_dlp.utils import DownloadError as YtdlpDownloadError
from yt_dlp.utils import ExtractorError, GeoRestrictedError, UnsupportedError

from mediabot.downloaders import (
    DownloadError,
    GeoBlockedError,
    LiveStreamError,
    LoginRequiredError,
    NetworkError,
    NotFoundError,
    PrivateAddressError,
    PrivateOrRemovedError,
    UnavailableResolutionError,
    UnsupportedLinkError,
)
from mediabot.downloaders.errors import (
    InstagramLoginError,
    InstagramRateLimitError,
    PushBack,
    SitePushBackError,
    YouTubeAgeRestrictedError,
    YouTubeBotCheckError,
    YouTubeMembersOnlyError,
)
from mediabot.downloaders.failures import translate_error
from mediabot.downloaders.guarded import GuardRefusalError
from mediabot.downloaders.sites.generic import GenericDownloader
from mediabot.i18n import _, use_locale


def _as_ytdlp_raises(error: BaseException) -> YtdlpDownloadError:
    """What YoutubeDL raises: its DownloadError wrapping the original in `exc_info`."""
    try:
        raise error
    except BaseException:
        return YtdlpDownloadError(f"ERROR: {error}", sys.exc_info())


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ExtractorError("Private video. Sign in if you've been granted access", expected=True),
            PrivateOrRemovedError,
        ),
        (
            ExtractorError("Video unavailable. This video has been removed by the uploader"),
            PrivateOrRemovedError,
        ),
        (
            ExtractorError("Sign in to confirm your age. This video may be inappropriate"),
            LoginRequiredError,  # not from YouTube's extractor
        ),
        (
            ExtractorError(
                "Video unavailable. The uploader has not made this video available in your country"
            ),
            GeoBlockedError,
        ),
        (GeoRestrictedError("This video is not available from your location"), GeoBlockedError),
        (ExtractorError("This live event will begin in 3 hours."), LiveStreamError),
        (UnsupportedError("https://example.org/page"), UnsupportedLinkError),
        (
            ExtractorError("Requested format is not available. Use --list-formats"),
            UnavailableResolutionError,
        ),
        (ExtractorError("Unable to download webpage: HTTP Error 404: Not Found"), NotFoundError),
        (TransportError("Connection reset by peer"), NetworkError),
        (
            ExtractorError("Unable to download JSON metadata: HTTP Error 503: Service Unavailable"),
            NetworkError,
        ),
        (ExtractorError("Something nobody anticipated"), DownloadError),
    ],
)
def test_ytdlp_failures_map_to_one_error_each(
    error: BaseException, expected: type[DownloadError]
) -> None:
    translated = translate_error(_as_ytdlp_raises(error))
    assert type(translated) is expected
    assert str(error)[:20] not in translated.user_message
    assert str(error)[:20] in translated.detail
    assert translated.transient is (expected is NetworkError)


def test_a_guard_refusal_deep_in_ytdlp_comes_back_as_itself() -> None:
    refusal = PrivateAddressError(detail="10.0.0.1")
    wrapped = ExtractorError("Unable to download webpage", cause=GuardRefusalError(refusal))
    assert translate_error(_as_ytdlp_raises(wrapped)) is refusal


def test_user_messages_are_short_and_free_of_raw_text() -> None:
    for error_class in (
        DownloadError,
        UnsupportedLinkError,
        PrivateAddressError,
        PrivateOrRemovedError,
        LoginRequiredError,
        GeoBlockedError,
        LiveStreamError,
        NotFoundError,
        UnavailableResolutionError,
        NetworkError,
    ):
        error = error_class(detail="ERROR: [youtube] xyz: raw yt-dlp text")
        assert "yt-dlp" not in error.user_message
        assert 10 < len(error.user_message) < 120
        assert error.detail.startswith("ERROR")


COOKIES_HINT = (
    "Use --cookies-from-browser or --cookies for the authentication. See  "
    "https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to "
    "manually pass cookies"
)


@pytest.mark.parametrize(
    ("ie", "message", "expected"),
    [
        # yt-dlp's youtube/_video.py: YouTube's playability reason + _youtube_login_hint
        (
            "youtube",
            f"Sign in to confirm you’re not a bot. {COOKIES_HINT}",
            YouTubeBotCheckError,
        ),
        (
            "youtube",
            "Sign in to confirm your age. This video may be inappropriate for some users. "
            + COOKIES_HINT,
            YouTubeAgeRestrictedError,
        ),
        (
            "youtube",
            "This video is age-restricted and YouTube is requiring account age-verification",
            YouTubeAgeRestrictedError,
        ),
        (
            "youtube",
            "Join this channel to get access to members-only content like this video, and "
            "other exclusive perks.",
            YouTubeMembersOnlyError,
        ),
        # yt-dlp's instagram.py
        (
            "Instagram",
            "Main webpage is locked behind the login page. Unable to extract shared data. "
            + COOKIES_HINT,
            InstagramLoginError,
        ),
        (
            "Instagram",
            "This content is only available for registered users who follow this account. "
            + COOKIES_HINT,
            InstagramLoginError,
        ),
        (
            "Instagram",
            "The webpage request was redirected to the login page. You have exceeded the "
            "rate-limit for accessing posts anonymously. " + COOKIES_HINT,
            InstagramRateLimitError,
        ),
        (
            "Instagram",
            "Unable to download JSON metadata: HTTP Error 429: Too Many Requests",
            InstagramRateLimitError,
        ),
        ("youtube", "Video unavailable. This video is private", PrivateOrRemovedError),
        ("Instagram", "There is no video in this post", NotFoundError),
    ],
)
def test_the_sites_refusing_the_bot_get_their_own_error(
    ie: str, message: str, expected: type[DownloadError]
) -> None:
    error = ExtractorError(message, expected=True, ie=ie, video_id="dQw4w9WgXcQ")
    translated = translate_error(_as_ytdlp_raises(error))
    assert type(translated) is expected
    assert message[:30] in translated.detail


def test_a_site_class_brings_its_own_refusals_of_the_bot() -> None:
    class ToyWallError(SitePushBackError):
        push_back = "toy_wall"
        admin_hint = "Give the bot a toy account."

    class ToyDownloader(GenericDownloader):
        push_backs = ((r"\[toy\].*behind the wall", ToyWallError),)

    error = ExtractorError("The clip is behind the wall", expected=True, ie="toy")
    assert type(translate_error(_as_ytdlp_raises(error))) is ToyWallError
    assert ToyDownloader.push_backs


def test_each_push_back_has_its_own_words_for_users_and_admins() -> None:
    kinds = [
        kind
        for kind in SitePushBackError.__subclasses__()
        if kind.__module__ == "mediabot.downloaders.errors"
    ]
    assert {kind.push_back for kind in kinds} == set(PushBack)
    assert len({kind.default_message for kind in kinds}) == len(kinds)
    for kind in kinds:
        assert "yt-dlp" not in kind.default_message
        assert "_" in kind.admin_hint  # names a setting, e.g. YOUTUBE_COOKIES_FILE
        with use_locale("ru"):
            assert _(kind.default_message) != kind.default_message
            assert _(kind.admin_hint) != kind.admin_hint
