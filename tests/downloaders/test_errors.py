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
from mediabot.downloaders.ytdl import GuardRefusalError, translate_error


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
            ExtractorError("Sign in to confirm you’re not a bot. Use --cookies-from-browser"),
            LoginRequiredError,
        ),
        (
            ExtractorError("Sign in to confirm your age. This video may be inappropriate"),
            LoginRequiredError,
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
