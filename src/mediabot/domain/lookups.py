"""What a lookup found for a link, in a form that travels: through the database (the answer
one lookup shares with every request for the link) and out of the lookup processes.

`Found` is a video (or post), a playlist, or a video and the playlist its link also names;
`Refused` is a `DownloadError` kept as its class name and its words, so that whoever shows
it later says it in the user's language (`DownloadError.user_message_in`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from mediabot.domain.enums import Provider
from mediabot.domain.media import MediaOptions, Resolution
from mediabot.domain.playlist import PlaylistOptions


class LookupKind(StrEnum):
    """Who waits for a lookup request's answer."""

    MESSAGE = "message"
    """The links of a message (or a `/dl`): the answers go to its chat."""
    INLINE = "inline"
    """An inline query: the answer is the query's results."""
    SUBTITLES = "subtitles"
    """A press on an offer's "subtitles": the answer is the `.srt` of its one link (and
    clip), sent to its chat."""


class LookupState(StrEnum):
    """A lookup request's life: `PENDING` -> `ANSWERING` (claimed by the worker that sends
    the answer, so that no other sends it again) -> `ANSWERED`; back to `PENDING` from
    `ANSWERING` when the answer failed before anything of it was sent."""

    PENDING = "pending"
    ANSWERING = "answering"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class Found:
    """What a link offers: a video (or post), a playlist, or a video and its playlist."""

    media: MediaOptions | None = None
    playlist: PlaylistOptions | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A lookup that ended in a `DownloadError`: its class, its msgid and values, its detail.

    `error` is the class name in `mediabot.downloaders.errors`; whoever shows it rebuilds the
    error there (`downloaders.errors.rebuild`).
    """

    error: str
    message_id: str
    values: dict[str, Any]
    detail: str


Outcome = Found | Refused


def encode_outcome(outcome: Outcome) -> dict[str, Any]:
    """`outcome` as plain JSON data."""
    if isinstance(outcome, Refused):
        return {"refused": asdict(outcome)}
    media = _media_data(outcome.media) if outcome.media is not None else None
    playlist = outcome.playlist.model_dump(mode="json") if outcome.playlist is not None else None
    return {"media": media, "playlist": playlist}


def decode_outcome(data: dict[str, Any]) -> Outcome:
    """The outcome `encode_outcome` gave `data` for."""
    refused = data.get("refused")
    if refused is not None:
        return Refused(**refused)
    media = data.get("media")
    playlist = data.get("playlist")
    return Found(
        media=_media(media) if media is not None else None,
        playlist=PlaylistOptions.model_validate(playlist) if playlist is not None else None,
    )


def _media_data(media: MediaOptions) -> dict[str, Any]:
    data = {field.name: getattr(media, field.name) for field in fields(media)}
    data["resolutions"] = [asdict(resolution) for resolution in media.resolutions]
    data["found"] = dict(media.found) if media.found is not None else None
    return data


def _media(data: dict[str, Any]) -> MediaOptions:
    return MediaOptions(
        **{
            **data,
            "provider": Provider(data["provider"]),
            "resolutions": tuple(Resolution(**each) for each in data["resolutions"]),
        }
    )
