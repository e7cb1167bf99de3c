"""The closed sets of the domain."""

from __future__ import annotations

from enum import StrEnum


class Provider(StrEnum):
    """Where a piece of media comes from; `GENERIC` is every other site yt-dlp knows."""

    YOUTUBE = "youtube"
    INSTAGRAM = "instagram"
    GENERIC = "generic"


class MediaKind(StrEnum):
    """What a delivered file is."""

    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"


class RequestState(StrEnum):
    """The life of one request, from the offer of choices to its ending.

    `OFFERED` (buttons shown) -> `ACCEPTED` (a choice made) -> `QUEUED` -> `DOWNLOADING`
    -> `UPLOADING` -> `DELIVERED`; any state before `DELIVERED` may end in `FAILED` or
    `CANCELLED`.
    """

    OFFERED = "offered"
    ACCEPTED = "accepted"
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    UPLOADING = "uploading"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATES

    @classmethod
    def pending_states(cls) -> tuple[RequestState, ...]:
        """States of requests a choice was made for and that still owe the user a file."""
        return (cls.ACCEPTED, cls.QUEUED, cls.DOWNLOADING, cls.UPLOADING)

    @classmethod
    def final_states(cls) -> frozenset[RequestState]:
        """States a request never leaves."""
        return _FINAL_STATES


_FINAL_STATES = frozenset({RequestState.DELIVERED, RequestState.FAILED, RequestState.CANCELLED})


class DownloadPhase(StrEnum):
    """What a download is doing, for progress reports."""

    PROBING = "probing"
    DOWNLOADING = "downloading"
    PROCESSING = "processing"
    FINISHED = "finished"
