"""Choosing the sender: a lookup keyed by media kind, size against the limit, and arity,
in the form the request asked for (media that plays in the chat, or documents)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from aiogram import Bot

from mediabot.domain.enums import MediaKind
from mediabot.domain.media import DownloadResult
from mediabot.domain.preferences import DeliveryForm
from mediabot.media.sources import SegmentedSource, SplitSource
from mediabot.senders.album import AlbumSender
from mediabot.senders.audio import AudioSender
from mediabot.senders.base import (
    DeliveryError,
    FileSender,
    PartCallback,
    ResumePoint,
    Sender,
    SendOptions,
    SendTarget,
)
from mediabot.senders.cached import CachedSender
from mediabot.senders.document import (
    AudioDocumentSender,
    CachedDocumentSender,
    LargeAudioDocumentSender,
    LargeVideoDocumentSender,
    VideoDocumentSender,
)
from mediabot.senders.large import LargeAudioSender, LargeSender, LargeVideoSender
from mediabot.senders.photo import PhotoSender
from mediabot.senders.video import VideoSender
from mediabot.telegram.client import ensure_pacing
from mediabot.telegram.pacing import Pacer

logger = logging.getLogger(__name__)


class Fit(StrEnum):
    """Whether every file goes up in one upload."""

    FITS = "fits"
    LARGE = "large"


class Arity(StrEnum):
    """One file, or several sent together."""

    SINGLE = "single"
    GROUP = "group"


DeliveryCase = tuple[MediaKind, Fit, Arity]

SENDERS: Mapping[DeliveryCase, type[FileSender]] = {
    (MediaKind.VIDEO, Fit.FITS, Arity.SINGLE): VideoSender,
    (MediaKind.VIDEO, Fit.LARGE, Arity.SINGLE): LargeVideoSender,
    (MediaKind.AUDIO, Fit.FITS, Arity.SINGLE): AudioSender,
    (MediaKind.AUDIO, Fit.LARGE, Arity.SINGLE): LargeAudioSender,
    (MediaKind.PHOTO, Fit.FITS, Arity.SINGLE): PhotoSender,
    (MediaKind.VIDEO, Fit.FITS, Arity.GROUP): AlbumSender,
    (MediaKind.PHOTO, Fit.FITS, Arity.GROUP): AlbumSender,
    (MediaKind.AUDIO, Fit.FITS, Arity.GROUP): AlbumSender,
}
"""Every delivery mediabot knows how to make; anything else is a `DeliveryError`."""

DOCUMENT_SENDERS: Mapping[DeliveryCase, type[FileSender]] = {
    **SENDERS,
    (MediaKind.VIDEO, Fit.FITS, Arity.SINGLE): VideoDocumentSender,
    (MediaKind.VIDEO, Fit.LARGE, Arity.SINGLE): LargeVideoDocumentSender,
    (MediaKind.AUDIO, Fit.FITS, Arity.SINGLE): AudioDocumentSender,
    (MediaKind.AUDIO, Fit.LARGE, Arity.SINGLE): LargeAudioDocumentSender,
}
"""The deliveries of the document form: one video or audio file, whole or in parts, goes as
documents; photos and albums (several files of a post) stay as they are."""

_BY_FORM: Mapping[DeliveryForm, Mapping[DeliveryCase, type[FileSender]]] = {
    DeliveryForm.MEDIA: SENDERS,
    DeliveryForm.DOCUMENT: DOCUMENT_SENDERS,
}

STREAM_SENDERS: Mapping[tuple[MediaKind, DeliveryForm], type[LargeSender]] = {
    (MediaKind.VIDEO, DeliveryForm.MEDIA): LargeVideoSender,
    (MediaKind.AUDIO, DeliveryForm.MEDIA): LargeAudioSender,
    (MediaKind.VIDEO, DeliveryForm.DOCUMENT): LargeVideoDocumentSender,
    (MediaKind.AUDIO, DeliveryForm.DOCUMENT): LargeAudioDocumentSender,
}

CACHED_SENDERS: Mapping[DeliveryForm, type[CachedSender]] = {
    DeliveryForm.MEDIA: CachedSender,
    DeliveryForm.DOCUMENT: CachedDocumentSender,
}
"""Who sends a delivery's file ids again: in the form they were first sent in (the cache
never mixes forms, see `db.repositories._common.same_media`)."""


def delivery_case(result: DownloadResult, limit_bytes: int) -> DeliveryCase:
    """The key of `result` in `SENDERS`."""
    if not result.items:
        raise DeliveryError("the download produced no file")
    fits = all(item.size_bytes <= limit_bytes for item in result.items)
    arity = Arity.GROUP if len(result.items) > 1 else Arity.SINGLE
    return result.kind, Fit.FITS if fits else Fit.LARGE, arity


def sender_for(
    result: DownloadResult, limit_bytes: int, form: DeliveryForm = DeliveryForm.MEDIA
) -> type[FileSender]:
    """The sender class for `result` in `form`; `DeliveryError` for a case no sender handles."""
    case = delivery_case(result, limit_bytes)
    try:
        return _BY_FORM[form][case]
    except KeyError:
        kind, fit, arity = case
        raise DeliveryError(
            f"cannot send a {arity.value} {kind.value} that is {fit.value} for Telegram"
        ) from None


def make_sender(
    bot: Bot,
    result: DownloadResult,
    target: SendTarget,
    *,
    limit_bytes: int,
    pacer: Pacer | None = None,
    on_part: PartCallback | None = None,
    resume: ResumePoint | None = None,
    form: DeliveryForm = DeliveryForm.MEDIA,
) -> Sender:
    """The sender that delivers `result` to `target` in `form`; call `send()` on it.

    Sends are paced by the bot's session (`create_bot`); a `pacer` given here is installed
    on a bot that does not pace yet (see `ensure_pacing`), and is a no-op otherwise.
    """
    if pacer is not None:
        ensure_pacing(bot, pacer)
    sender_class = sender_for(result, limit_bytes, form)
    options = SendOptions(limit_bytes, on_part=on_part, resume=resume)
    logger.debug("delivering %s with %s", result.media_key, sender_class.__name__)
    return sender_class.for_result(bot, result, target, options)


def make_stream_sender(
    bot: Bot,
    source: SplitSource | SegmentedSource,
    target: SendTarget,
    *,
    work_dir: Path,
    limit_bytes: int,
    title: str,
    performer: str | None = None,
    cover: Path | None = None,
    pacer: Pacer | None = None,
    on_part: PartCallback | None = None,
    resume: ResumePoint | None = None,
    form: DeliveryForm = DeliveryForm.MEDIA,
) -> LargeSender:
    """A split delivery in `form` read straight from remote inputs (no full download on
    disk)."""
    if pacer is not None:
        ensure_pacing(bot, pacer)
    return STREAM_SENDERS[source.kind, form](
        bot,
        target,
        source,
        work_dir=work_dir,
        limit_bytes=limit_bytes,
        title=title,
        performer=performer,
        cover=cover,
        resume=resume,
        on_part=on_part,
    )
