"""The closed sets of the domain."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema


class Provider(str):
    """Where a piece of media comes from: a site's name, as its downloader class declares it.

    An open set: a site is added by its downloader module alone (`downloaders.sites`), never
    by a member here. The names below are the sites mediabot ships with; `GENERIC` is every
    other site yt-dlp knows. A name is lower-case letters, digits and `_` (at most 16), as
    it is stored in the `providers` table and in media keys (`youtube:<id>`).
    """

    __slots__ = ()

    YOUTUBE: ClassVar[Provider]
    INSTAGRAM: ClassVar[Provider]
    GENERIC: ClassVar[Provider]

    def __new__(cls, name: str) -> Provider:
        if not _PROVIDER_NAME.fullmatch(name):
            raise ValueError(f"not a provider name: {name!r}")
        return super().__new__(cls, name)

    @classmethod
    def declare(cls, name: str, display_name: str) -> Provider:
        """The provider `name`, shown to people as `display_name` (admin statistics)."""
        provider = cls(name)
        _DISPLAY_NAMES[provider] = display_name
        return provider

    @property
    def display_name(self) -> str:
        """The name people see; a provider never declared shows its own name."""
        return _DISPLAY_NAMES.get(self, str(self))

    def __repr__(self) -> str:
        return f"Provider({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated from a string, serialised as one."""
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


_PROVIDER_NAME = re.compile(r"[a-z0-9_]{1,16}")
_DISPLAY_NAMES: dict[str, str] = {}
Provider.YOUTUBE = Provider.declare("youtube", "YouTube")
Provider.INSTAGRAM = Provider.declare("instagram", "Instagram")
Provider.GENERIC = Provider.declare("generic", "Other sites")


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
