"""`Senders` and `Statuses` over aiogram: the senders family and paced status edits."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup

from mediabot.domain.media import DownloadResult, ProgressCallback
from mediabot.domain.preferences import DeliveryForm
from mediabot.downloaders.streams import StreamPlan
from mediabot.i18n import use_locale
from mediabot.senders.base import PartCallback, ResumePoint, SendTarget
from mediabot.senders.cached import CachedPart
from mediabot.senders.inline import InlineCachedSender, InlineSender
from mediabot.senders.registry import CACHED_SENDERS, make_sender, make_stream_sender
from mediabot.senders.streamed import may_fit
from mediabot.telegram.pacing import Pacer
from mediabot.worker import texts
from mediabot.worker.playlist import PlaylistItemStatus
from mediabot.worker.ports import RequestsStore, Sender, Status
from mediabot.worker.progress import StatusMessage
from mediabot.worker.request import Request


@dataclass(frozen=True, slots=True)
class AiogramSenders:
    """`Senders` over the senders family and the worker's bot."""

    bot: Bot
    limit_bytes: int
    pacer: Pacer

    async def held_s(self, chat_id: int) -> float:
        return await self.pacer.delay(chat_id)

    def cached(
        self,
        target: SendTarget,
        parts: Sequence[CachedPart],
        on_part: PartCallback,
        form: DeliveryForm = DeliveryForm.MEDIA,
        into: int | None = None,
    ) -> Sender:
        if target.inline is not None:
            return InlineCachedSender(self.bot, target, parts, on_part=on_part)
        return CACHED_SENDERS[form](self.bot, target, parts, on_part=on_part, into=into)

    def fresh(
        self,
        result: DownloadResult,
        target: SendTarget,
        on_part: PartCallback,
        resume: ResumePoint | None,
        form: DeliveryForm = DeliveryForm.MEDIA,
    ) -> Sender:
        return self._into_inline(
            target,
            make_sender(
                self.bot,
                result,
                target,
                limit_bytes=self.limit_bytes,
                on_part=on_part,
                resume=resume,
                form=form,
            ),
        )

    def stream(
        self,
        plan: StreamPlan,
        target: SendTarget,
        folder: Path,
        on_part: PartCallback,
        resume: ResumePoint | None,
        form: DeliveryForm = DeliveryForm.MEDIA,
        progress: ProgressCallback | None = None,
        on_fetched: Callable[[], Awaitable[None]] | None = None,
    ) -> Sender:
        return self._into_inline(
            target,
            make_stream_sender(
                self.bot,
                plan.source,
                target,
                work_dir=folder,
                limit_bytes=self.limit_bytes,
                title=plan.title,
                performer=plan.uploader,
                cover=plan.thumbnail,
                on_part=on_part,
                resume=resume,
                form=form,
                whole_first=may_fit(plan.estimated_bytes, self.limit_bytes),
                progress=progress,
                on_fetched=on_fetched,
            ),
        )

    def _into_inline(self, target: SendTarget, upload: Sender) -> Sender:
        """An inline request's upload goes to the storage chat, then into its message."""
        return upload if target.inline is None else InlineSender(self.bot, target, upload)


@dataclass(frozen=True, slots=True)
class AiogramStatuses:
    """`Statuses` as paced edits of the status message (`worker.progress.StatusMessage`).

    A playlist item's status is its playlist's one message (`PlaylistItemStatus`), always
    with the playlist's ✖ (`playlist_markup`).
    """

    bot: Bot
    pacer: Pacer
    markup: Callable[[uuid.UUID], InlineKeyboardMarkup | None]
    playlist_markup: Callable[[uuid.UUID], InlineKeyboardMarkup | None]
    requests: RequestsStore
    delivered_markup: Callable[[uuid.UUID], InlineKeyboardMarkup | None] = lambda _: None
    """The buttons a request chosen by its owner's default keeps once delivered (its
    "⚙ Other choices")."""

    def open(self, request: Request, *, buttons: bool = False) -> Status:
        with use_locale(request.locale):  # the buttons' labels, and the status's words later
            place = request.playlist
            if request.inline_message_id is not None:
                # The inline message is the status; a ✖ there would come without a chat.
                return StatusMessage(
                    self.bot,
                    self.pacer,
                    request.chat_telegram_id,
                    None,
                    locale=request.locale,
                    inline_message_id=request.inline_message_id,
                )
            if place is None:
                return StatusMessage(
                    self.bot,
                    self.pacer,
                    request.chat_telegram_id,
                    request.status_message_id,
                    self.markup(request.id) if buttons else None,
                    locale=request.locale,
                    kept_as=self._kept_as(request),
                )
            message = StatusMessage(
                self.bot,
                self.pacer,
                request.chat_telegram_id,
                request.status_message_id,
                self.playlist_markup(place.playlist_id),
                locale=request.locale,
                heading=texts.playlist_item(place.position + 1, place.total),
                edit_gate=functools.partial(self.requests.allow_status_edit, place.playlist_id),
            )
            return PlaylistItemStatus(message, place, self.requests, request.locale)

    def _kept_as(self, request: Request) -> tuple[str, InlineKeyboardMarkup | None] | None:
        """What a request chosen by default leaves on its status message once delivered:
        what it came as, and the button that brings the offer back (None: deleted)."""
        if not request.chosen_by_default:
            return None
        return texts.delivered_by_default(request.kind, request.resolution), (
            self.delivered_markup(request.id)
        )
