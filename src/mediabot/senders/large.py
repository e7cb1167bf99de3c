"""Media over the upload limit, delivered as playable parts cut while earlier parts upload.

For a remote source the splitter cuts part i+1 while part i uploads (two parts on disk at
most; the splitter plans the part after it meanwhile); a file on disk is cut and uploaded
in turn. Each part is deleted the moment
Telegram accepts it (or rejects it). A part Telegram refuses as too large (413) is cut
again over a shorter range with a lower limit, and the delivery goes on from there. A
`ResumePoint` starts the delivery at a later part, so parts already delivered are not
sent again.

A remote source whose indexes can be read ahead is not cut by ffmpeg: its parts are
planned from the samples the indexes list and each goes up while it is fetched
(`senders.spooled_parts`); one whose estimate fits one upload is first tried whole
(`senders.streamed`). Only when no index can be known ahead (MPEG-TS, a live source, an
exotic container) do the cutters cut it.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from aiogram import Bot
from aiogram.exceptions import TelegramEntityTooLarge
from aiogram.types import InputFile, Message

from mediabot.domain.enums import MediaKind
from mediabot.domain.media import DownloadResult, ProgressCallback
from mediabot.i18n import _
from mediabot.media.cutters.files import Splitter
from mediabot.media.cutters.fragments import SegmentSplitter
from mediabot.media.faststart.boxes import BoxError
from mediabot.media.faststart.cuts import PartPlanner
from mediabot.media.faststart.layout import frame_size
from mediabot.media.faststart.source import Indexed, read_indexes
from mediabot.media.parts import CutPart, PartCutter, SplitError, part_path
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.sources import SegmentedSource, SplitSource
from mediabot.media.thumbnail import best_thumbnail
from mediabot.media.tools import discard
from mediabot.senders.audio import AUDIO_TAG_LIMIT
from mediabot.senders.base import (
    DeliveryError,
    FileSender,
    FileTags,
    PartCallback,
    ResumePoint,
    Sender,
    SendOptions,
    SendTarget,
    SentPart,
    upload_of,
)
from mediabot.senders.part_line import limit_after_refused, shrunk_limit, upload_parts
from mediabot.senders.spooled_parts import IndexedParts
from mediabot.senders.streamed import Whole, plan_whole, send_whole
from mediabot.telegram.texts import plain
from mediabot.telegram.uploads import StreamedFile

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Ready:
    """A cut part and the thumbnail made for it (None: use the cover, or none)."""

    part: CutPart
    thumbnail: Path | None

    async def release(self) -> None:
        """Delete the part and its thumbnail."""
        discard(self.part.path)
        discard(self.thumbnail)


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a pass of cutting and uploading starts: a time in the source, the index of
    the part cut there, and the parts' byte limit (lowered after Telegram refuses a part
    as too large)."""

    start_s: float
    index: int
    limit_bytes: int


class LargeSender(FileSender):
    """Delivers one long video or audio as parts under `limit_bytes`, captioned "Part i/N".

    `source` may be a file on disk or remote URLs (one muxed, or video + audio) read with
    range requests through the splitter's bounded cache, so the whole source never has to
    be on disk: the peak is two parts plus the splitter's cache (see `Splitter`).
    Parts are written to `work_dir`. A file on disk is cut and uploaded strictly in turn;
    a remote source has its next part cut while one uploads.
    """

    kind: ClassVar[MediaKind]

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        source: SplitSource | SegmentedSource,
        *,
        work_dir: Path,
        limit_bytes: int,
        title: str,
        performer: str | None = None,
        cover: Path | None = None,
        resume: ResumePoint | None = None,
        stem: str = "part",
        on_part: PartCallback | None = None,
        whole_first: bool = False,
        progress: ProgressCallback | None = None,
        on_fetched: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`whole_first`: a remote source is first tried as one file streamed whole (see
        `streamed.may_fit`), its fetching reported to `progress`, `on_fetched` awaited
        once all of it is fetched (the rest is upload)."""
        super().__init__(bot, target, on_part=on_part)
        if source.kind is not self.kind:
            raise ValueError(f"{type(self).__name__} sends {self.kind}, not {source.kind}")
        self._source = source
        self._work_dir = work_dir
        self._limit_bytes = limit_bytes
        self._title = title
        self._performer = performer
        self._cover = cover
        self._resume = resume
        self._max_on_disk = 2 if source.is_stream else 1
        self._stem = stem
        self._cover_thumbnail: Path | None = None
        self._frame_size: tuple[int | None, int | None] = (None, None)
        self._whole_first = whole_first
        self._progress = progress
        self._on_fetched = on_fetched

    @classmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        item = result.items[0]
        return cls(
            bot,
            target,
            SplitSource((item.path,), cls.kind, duration_s=item.duration_s or result.duration_s),
            work_dir=item.path.parent,
            limit_bytes=options.limit_bytes,
            title=result.title,
            performer=result.uploader,
            cover=item.thumbnail or result.thumbnail,
            resume=options.resume,
            stem=f"{item.path.stem}.part",
            on_part=options.on_part,
        )

    async def _send(self) -> list[SentPart]:
        limit = self._limit_bytes
        indexed = await self._read_indexes()
        if indexed is None:
            return await self._send_parts(limit)
        try:
            if self._tries_whole():
                path = part_path(self._work_dir, f"{self._stem}-whole", 0, self.kind)
                whole = plan_whole(indexed, path, limit)
                if whole is not None:
                    try:
                        return [await self._send_whole(whole)]
                    except TelegramEntityTooLarge:
                        limit = shrunk_limit(limit, whole.size_bytes)
                        logger.warning(
                            "Telegram refused the whole file (%d bytes) as too large; "
                            "sending parts under %d bytes",
                            whole.size_bytes,
                            limit,
                        )
            sent = await self._send_indexed(indexed, limit)
        finally:
            await indexed.ranges.close()
            discard(self._cover_thumbnail)
            self._cover_thumbnail = None
        if sent is not None:
            return sent
        return await self._send_parts(limit)

    async def _read_indexes(self) -> Indexed | None:
        """The remote source's samples read ahead; None for a file on disk, or when they
        cannot be known ahead (the origin's errors included: the cutters meet the same
        origin with their own answers). The cover's thumbnail is made meanwhile."""
        if not self._source.is_stream:
            return None
        cover = asyncio.create_task(self._make_cover_thumbnail())
        try:
            # a file tried whole is laid out from every sample; parts plan from the first
            indexed = await read_indexes(self._source, growing=not self._tries_whole())
        except RemoteReadError as exc:
            logger.info("Indexes not read ahead (%s): cutting instead", exc)
            indexed = None
        finally:
            await cover
        return indexed

    async def _send_indexed(self, indexed: Indexed, limit: int) -> list[SentPart] | None:
        """Parts planned from `indexed`, each uploaded while it is fetched; None when they
        cannot be planned this way (the cutters then cut them)."""
        try:
            planner = PartPlanner(indexed.tracks)
        except BoxError as exc:
            logger.info("Parts not planned from the index (%s): cutting instead", exc)
            return None
        self._frame_size = frame_size(indexed.tracks[0])
        sent: list[SentPart] = []

        async def post(part: CutPart, total: int, file: StreamedFile | None) -> Message:
            return await self._upload(part, total, None, file)

        async def accept(message: Message, part: CutPart, total: int) -> None:
            sent.append(await self._accepted_part(message, part, total))

        parts = IndexedParts(
            indexed,
            planner,
            work_dir=self._work_dir,
            stem=self._stem,
            kind=self.kind,
            local=self._is_local_server,
            name_of=lambda part: self._target.upload_name(part.path, f"part {part.index + 1}"),
            post=post,
            accept=accept,
        )
        resume = self._resume
        await parts.send(
            resume.start_s if resume else 0.0, resume.next_index if resume else 0, limit
        )
        return sent

    def _tries_whole(self) -> bool:
        return self._whole_first and self._resume is None and self._source.is_stream

    async def _send_whole(self, whole: Whole) -> SentPart:
        """Upload `whole` while it is fetched; its one part is reported as any part."""
        name = self._target.upload_name(whole.path)
        self._frame_size = whole.frame_size

        async def upload(part: CutPart, file: StreamedFile | None) -> Message:
            return await self._upload(part, 1, None, file)

        logger.info("Streaming one file of %d bytes while it is fetched", whole.size_bytes)
        message = await send_whole(
            whole,
            upload,
            local=self._is_local_server,
            filename=name,
            progress=self._progress,
            on_fetched=self._on_fetched,
        )
        return await self._accepted(
            message,
            index=0,
            total=1,
            size_bytes=whole.size_bytes,
            start_s=0.0,
            end_s=whole.duration_s,
        )

    async def _send_parts(self, limit: int) -> list[SentPart]:
        splitter: PartCutter
        if isinstance(self._source, SegmentedSource):
            splitter = SegmentSplitter(self._source, self._work_dir, stem=self._stem)
        else:
            first = self._limit_bytes if self._resume is None else 0
            splitter = Splitter(
                self._source, self._work_dir, stem=self._stem, first_part_bytes=first
            )
        sent: list[SentPart] = []
        # the cover's thumbnail is made while the source is probed and surveyed
        cover = asyncio.create_task(self._make_cover_thumbnail())
        try:
            await splitter.open()
            if splitter.video is not None:
                self._frame_size = (splitter.video.width, splitter.video.height)
            resume = self._resume
            start = _Start(
                resume.start_s if resume else 0.0, resume.next_index if resume else 0, limit
            )
            total = await _survey(splitter, start)
            if self._resume is not None and self._resume.total_hint:
                total = self._resume.total_hint
            await cover
            while True:
                rejected = await self._deliver(splitter, start, total, sent)
                if rejected is None:
                    return sent
                start = rejected
                total = await _survey(splitter, start)
        except SplitError as exc:
            raise DeliveryError(f"the media cannot be cut into parts: {exc}") from exc
        finally:
            cover.cancel()
            await asyncio.gather(cover, return_exceptions=True)
            discard(self._cover_thumbnail)
            await splitter.close()

    async def _make_cover_thumbnail(self) -> None:
        """The thumbnail every upload carries when the source has a cover (else none)."""
        if self._cover is not None and self._cover_thumbnail is None:
            self._cover_thumbnail = await best_thumbnail(
                self._work_dir / f"{self._stem}.cover.jpg", image=self._cover
            )

    async def _deliver(
        self, splitter: PartCutter, start: _Start, total: int, sent: list[SentPart]
    ) -> _Start | None:
        """Cut and upload from `start` to the end; after a 413, where to go on from."""

        async def post(item: _Ready) -> Message:
            part = item.part
            return await self._upload(part, part.announced_total(total), item.thumbnail)

        async def accept(item: _Ready, message: Message) -> None:
            part = item.part
            sent.append(await self._accepted_part(message, part, part.announced_total(total)))

        refused = await upload_parts(
            self._cut(splitter, start, total),
            on_disk=self._max_on_disk,
            post=post,
            accept=accept,
        )
        if refused is None:
            return None
        part = refused.part
        return _Start(part.start_s, part.index, limit_after_refused(start.limit_bytes, part))

    async def _accepted_part(self, message: Message, part: CutPart, total: int) -> SentPart:
        """`part`, accepted as `message` with `total` parts announced, reported."""
        return await self._accepted(
            message,
            index=part.index,
            total=total,
            size_bytes=part.size_bytes,
            start_s=part.start_s,
            end_s=part.end_s,
        )

    async def _cut(
        self, splitter: PartCutter, start: _Start, total: int
    ) -> AsyncGenerator[_Ready, None]:
        """The parts from `start` on (each with its thumbnail), cut in order up to the last."""
        start_s, index, limit = start.start_s, start.index, start.limit_bytes
        while True:
            target = splitter.part_target(start_s, total - index, limit)
            part = await splitter.cut(start_s, index, limit, target_bytes=target)
            try:
                thumbnail = await self._part_thumbnail(part)
            except BaseException:
                discard(part.path)
                raise
            yield _Ready(part, thumbnail)
            if part.is_last:
                return
            start_s, index = part.end_s, index + 1

    async def _part_thumbnail(self, part: CutPart) -> Path | None:
        """A thumbnail made for this part alone; by default none (the cover is used)."""
        del part
        return None

    async def _upload(
        self,
        part: CutPart,
        total: int,
        thumbnail: Path | None,
        file: StreamedFile | None = None,
    ) -> Message:
        """Post one part (from `file` while it is made, when given); the caller deletes
        the part and its thumbnail afterwards."""
        tags = self._tags(part, total)
        tags["duration_s"] = part.duration_s
        return await self._post_file(
            self.kind,
            self._part_file(part, file),
            caption=self._part_caption(part, total),
            reply=self._target.reply_parameters if part.index == 0 else None,
            thumbnail=upload_of(thumbnail or self._cover_thumbnail),
            **tags,
        )

    @abstractmethod
    def _tags(self, part: CutPart, total: int) -> FileTags:
        """What a part of this kind carries besides its caption, duration and thumbnail."""
        raise NotImplementedError  # abstract

    def _part_file(self, part: CutPart, file: StreamedFile | None) -> InputFile | str:
        """`file` when the part is streamed, else the part on disk."""
        if file is not None:
            return file
        return self._input_file(part.path, f"part {part.index + 1}")

    def _part_caption(self, part: CutPart, total: int) -> str:
        """The caption, with "Part i/N" under it when there is more than one part."""
        if total == 1:
            return self._target.caption
        return self._target.caption_with(
            _("Part {number}/{total}").format(number=part.index + 1, total=total)
        )


async def _survey(splitter: PartCutter, start: _Start) -> int:
    """How many parts the delivery has in all, going on from `start`."""
    await splitter.survey(start.start_s, start.limit_bytes)
    return start.index + splitter.estimate_parts(start.start_s, start.limit_bytes)


class LargeVideoSender(LargeSender):
    """A video over the limit, as MP4 parts, each with its own thumbnail frame."""

    kind = MediaKind.VIDEO

    async def _part_thumbnail(self, part: CutPart) -> Path | None:
        if self._cover_thumbnail is not None:
            return None
        return await best_thumbnail(part.path.with_suffix(".jpg"), video=part.path)

    def _tags(self, part: CutPart, total: int) -> FileTags:
        width, height = self._frame_size
        return {"width": width, "height": height}


class LargeAudioSender(LargeSender):
    """An audio track over the limit, as M4A parts titled "<title> (i/N)"."""

    kind = MediaKind.AUDIO

    def _tags(self, part: CutPart, total: int) -> FileTags:
        title = plain(self._title, AUDIO_TAG_LIMIT)
        return {
            "title": title if total == 1 else f"{title} ({part.index + 1}/{total})",
            "performer": plain(self._performer, AUDIO_TAG_LIMIT) or None,
        }
