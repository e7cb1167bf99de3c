"""A lookup's outcome as JSON data: what travels out of the lookup processes and through the
shared answers, and back."""

from __future__ import annotations

import json

from mediabot.domain.enums import Provider
from mediabot.domain.lookups import Found, Refused, decode_outcome, encode_outcome
from mediabot.domain.media import MediaOptions, Resolution
from mediabot.domain.playlist import PlaylistEntry, PlaylistOptions


def _media() -> MediaOptions:
    return MediaOptions(
        url="https://example.com/a.mpd",
        provider=Provider.GENERIC,
        media_key="generic:a",
        title="A",
        duration_s=200.0,
        resolutions=(Resolution(360, 1_000), Resolution(720)),
        audio_estimated_bytes=300,
        found={"at": 1.0, "packed": "eAGrVkrLL8pNLClWslKIroZy4jNTgFylMqXa2FoAxLwLUA=="},
        has_subtitles=True,
    )


def test_a_video_and_its_playlist_come_back_as_they_went_through_json() -> None:
    playlist = PlaylistOptions(
        url="https://example.com/list",
        title="L",
        entries=(
            PlaylistEntry(
                url="https://example.com/1", provider=Provider.GENERIC, media_key="generic:1"
            ),
        ),
        total_count=3,
    )
    found = Found(media=_media(), playlist=playlist)
    back = decode_outcome(json.loads(json.dumps(encode_outcome(found))))
    assert back == found
    assert isinstance(back, Found) and back.media is not None
    assert back.media.found == _media().found  # `found` is left out of the comparison


def test_a_refusal_comes_back_with_its_error_and_words() -> None:
    refused = Refused("NotFoundError", "not found", {"site": "x"}, "404")
    assert decode_outcome(json.loads(json.dumps(encode_outcome(refused)))) == refused
