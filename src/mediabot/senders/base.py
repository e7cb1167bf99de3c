"""The `Sender` family: one public verb, `send()`, and the types it speaks in.

A sender gets files on disk (or, for large media, a source it can cut) and a target
chat, and returns what Telegram accepted, part by part. It knows nothing of the bot's
handlers, the queue or the database: the caller records the parts it is told about.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypedDict, Unpack

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.types import (
    FSInputFile,
    InputFile,
    InputMediaAudio,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from mediabot.domain.enums import MediaKind
from mediabot.domain.media import DownloadResult
from mediabot.telegram.texts import CAPTION_LIMIT, file_name, fill_html, plain, safe_html

__all__ = ["CAPTION_LIMIT"]  # re-exported: callers size captions with it

logger = logging.getLogger(__name__)

_CAPTION_RESERVE = 40
"""Room kept free in a caption for a "Part i/N" line."""


class DeliveryError(Exception):
    """The media could not be delivered; the message says why in plain words."""


class StaleFileIdError(DeliveryError):
    """Telegram no longer accepts a cached file id: download and send the file again.

    `delivered` lists the parts that did go out before the stale one.
    """

    def __init__(self, message: str, delivered: tuple[SentPart, ...] = ()) -> None:
        super().__init__(message)
        self.delivered = delivered


@dataclass(frozen=True, slots=True)
class SendTarget:
    """Where the media goes and what it says.

    `caption` is HTML, at most `CAPTION_LIMIT` visible characters as Telegram counts
    them; `title` is the plain title uploads are named after (empty: the file's own name,
    cleaned).
    """

    chat_id: int
    caption: str
    reply_to_message_id: int | None = None
    title: str = ""
    message_thread_id: int | None = None
    """A forum topic of the chat: the files go there even if the replied-to message is gone."""
    inline: InlinePlace | None = None
    """Inline mode: `chat_id` is the storage chat, and the file ends up in this message."""

    @classmethod
    def for_media(
        cls,
        chat_id: int,
        title: str,
        source_url: str,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        inline: InlinePlace | None = None,
    ) -> SendTarget:
        """A target whose caption is the title in bold and the source link.

        Both come from outside: they are cleaned, escaped and cut (the longer first) so
        that the caption fits with room for a "Part i/N" line.
        """
        room = CAPTION_LIMIT - _CAPTION_RESERVE
        clean_title = plain(title)
        if clean_title:
            caption = fill_html("<b>{title}</b>\n{url}", room, title=clean_title, url=source_url)
        else:
            caption = fill_html("{url}", room, url=source_url)
        return cls(chat_id, caption, reply_to_message_id, clean_title, message_thread_id, inline)

    def caption_with(self, line: str) -> str:
        """The caption with one more line of plain text under it (cleaned and escaped)."""
        extra = safe_html(line, _CAPTION_RESERVE - 1)
        return f"{self.caption}\n{extra}" if self.caption else extra

    def upload_name(self, path: Path, label: str = "") -> str:
        """The plain name an upload of `path` is shown under: "<title>[ label].<ext>"."""
        stem = self.title or path.stem
        return file_name(f"{stem} {label}" if label else stem, path.suffix)

    @property
    def reply_parameters(self) -> ReplyParameters | None:
        if self.reply_to_message_id is None:
            return None
        return ReplyParameters(
            message_id=self.reply_to_message_id, allow_sending_without_reply=True
        )


@dataclass(frozen=True, slots=True)
class InlinePlace:
    """A message posted through an inline result, which a delivery is put into.

    Telegram takes no upload there: the file goes to the storage chat first and the message
    is edited into it by file id. A delivery of more than one file cannot fit one message:
    it then says `too_large_text`, with a `private_button` opening `private_link`.
    """

    message_id: str
    too_large_text: str
    private_button: str
    private_link: str


@dataclass(frozen=True, slots=True)
class SentPart:
    """One file Telegram accepted: its place in the delivery and its file ids.

    `start_s`/`end_s` are the part's range in the source for a split delivery, else None.
    """

    index: int
    total: int
    kind: MediaKind
    file_id: str
    file_unique_id: str
    message_id: int
    size_bytes: int
    start_s: float | None = None
    end_s: float | None = None


class FileTags(TypedDict, total=False):
    """What a file carries besides its caption, by kind: a video's frame size, an audio
    track's title and performer, the duration of both. A kind that cannot carry a tag does
    not send it."""

    duration_s: float | None
    width: int | None
    height: int | None
    title: str | None
    performer: str | None


class _Posting(TypedDict):
    """The arguments every `send*` method of one delivery shares."""

    chat_id: int
    caption: str | None
    parse_mode: ParseMode
    reply_parameters: ReplyParameters | None
    message_thread_id: int | None


class _Playable(_Posting):
    """What a video and an audio track are sent with besides the common arguments."""

    duration: int | None
    thumbnail: FSInputFile | None


PartCallback = Callable[[SentPart], Awaitable[None]]
"""Awaited right after each part is accepted, before the next one is sent."""


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where an interrupted split delivery goes on: the next part's index and start time."""

    next_index: int
    start_s: float
    total_hint: int | None = None


@dataclass(frozen=True, slots=True)
class SendOptions:
    """What every sender may need besides the media: the upload limit and the hooks."""

    limit_bytes: int
    on_part: PartCallback | None = None
    resume: ResumePoint | None = None


class Sender(ABC):
    """Sends one piece of media to one chat; `send()` is the only public verb.

    Subclasses implement `_send()`. Each accepted part is reported to `on_part` as soon
    as Telegram accepts it, so an interrupted delivery can be resumed or cached.
    """

    _as_documents: ClassVar[bool] = False
    """Every file goes out through `sendDocument` (`senders.document`)."""

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        *,
        on_part: PartCallback | None = None,
    ) -> None:
        self._bot = bot
        self._target = target
        self._on_part = on_part

    async def send(self) -> list[SentPart]:
        """Deliver the media; returns every part Telegram accepted, in order."""
        parts = await self._send()
        logger.info(
            "%s delivered %d part(s) to chat %d",
            type(self).__name__,
            len(parts),
            self._target.chat_id,
        )
        return parts

    @abstractmethod
    async def _send(self) -> list[SentPart]:
        raise NotImplementedError  # abstract

    @property
    def _is_local_server(self) -> bool:
        return self._bot.session.api.is_local

    def _input_file(self, path: Path, label: str = "") -> FSInputFile | str:
        """An upload named after the title (`SendTarget.upload_name`), or with a local Bot
        API server the file's path as a file:// URI.

        A local server reads the file itself from the shared folder, so nothing is
        uploaded; the server needs the same absolute path the worker sees.
        """
        if self._is_local_server:
            return path.resolve().as_uri()
        return FSInputFile(path, filename=self._target.upload_name(path, label))

    async def _post_file(
        self,
        kind: MediaKind,
        file: InputFile | str,
        *,
        caption: str | None,
        reply: ReplyParameters | None,
        thumbnail: FSInputFile | None = None,
        **tags: Unpack[FileTags],
    ) -> Message:
        """Post one file (an upload or a file id) with the Bot API method for its kind.

        The one place a kind becomes `sendVideo`, `sendAudio` or `sendPhoto` (or, for a
        sender of documents, `sendDocument`); what a kind cannot carry (a photo's duration,
        a video's performer) is not sent.
        """
        common = _Posting(
            chat_id=self._target.chat_id,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_parameters=reply,
            message_thread_id=self._target.message_thread_id,
        )
        if self._as_documents:
            # A document carries its bytes, name, caption and thumbnail: no frame size,
            # duration or audio tags (the file itself has them). Content-type detection
            # off, so Telegram does not turn it back into a playable video.
            return await self._bot.send_document(
                document=file, thumbnail=thumbnail, disable_content_type_detection=True, **common
            )
        if kind is MediaKind.PHOTO:
            return await self._bot.send_photo(photo=file, **common)
        duration_s = tags.get("duration_s")
        playable = _Playable(
            **common,
            duration=round(duration_s) if duration_s is not None else None,
            thumbnail=thumbnail,
        )
        if kind is MediaKind.VIDEO:
            return await self._bot.send_video(
                video=file,
                width=tags.get("width"),
                height=tags.get("height"),
                supports_streaming=True,
                **playable,
            )
        return await self._bot.send_audio(
            audio=file, title=tags.get("title"), performer=tags.get("performer"), **playable
        )

    async def _accepted(
        self,
        message: Message,
        *,
        index: int,
        total: int,
        size_bytes: int,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> SentPart:
        """Turn an accepted message into a `SentPart`, and report it."""
        kind, file_id, file_unique_id = file_of(message)
        part = SentPart(
            index=index,
            total=total,
            kind=kind,
            file_id=file_id,
            file_unique_id=file_unique_id,
            message_id=message.message_id,
            size_bytes=size_bytes,
            start_s=start_s,
            end_s=end_s,
        )
        if self._on_part is not None:
            await self._on_part(part)
        return part


class FileSender(Sender):
    """A sender of files a download left on disk; the registry builds these."""

    @classmethod
    @abstractmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        """The sender for a finished download (the registry calls this)."""
        raise NotImplementedError  # abstract


def file_of(message: Message) -> tuple[MediaKind, str, str]:
    """The kind and file ids of the media in `message`; `DeliveryError` if it has none."""
    if message.video is not None:
        return MediaKind.VIDEO, message.video.file_id, message.video.file_unique_id
    if message.audio is not None:
        return MediaKind.AUDIO, message.audio.file_id, message.audio.file_unique_id
    if message.photo:
        largest = message.photo[-1]
        return MediaKind.PHOTO, largest.file_id, largest.file_unique_id
    if message.document is not None:
        # Telegram may turn a video it cannot play into a document; the id still resends
        return MediaKind.VIDEO, message.document.file_id, message.document.file_unique_id
    raise DeliveryError("Telegram accepted the message but it carries no media")


InputMedia = InputMediaPhoto | InputMediaVideo | InputMediaAudio


def input_media(
    kind: MediaKind,
    file: FSInputFile | str,
    caption: str | None,
    *,
    width: int | None = None,
    height: int | None = None,
    duration_s: float | None = None,
) -> InputMedia:
    """One album item (an upload or a file id) of the type its kind needs."""
    parse_mode = ParseMode.HTML if caption else None
    if kind is MediaKind.VIDEO:
        return InputMediaVideo(
            media=file,
            caption=caption,
            parse_mode=parse_mode,
            width=width,
            height=height,
            duration=round(duration_s) if duration_s is not None else None,
            supports_streaming=True,
        )
    if kind is MediaKind.AUDIO:
        return InputMediaAudio(media=file, caption=caption, parse_mode=parse_mode)
    return InputMediaPhoto(media=file, caption=caption, parse_mode=parse_mode)


def upload_of(path: Path | None) -> FSInputFile | None:
    """An upload of a small file we made (a thumbnail); even a local server takes these.

    Its name comes from the download's, so it is cleaned like every upload's name.
    """
    if path is None:
        return None
    return FSInputFile(path, filename=file_name(path.stem, path.suffix))
