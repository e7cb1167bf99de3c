"""The ports of `worker.ports` over the database, aiogram, the senders and the downloaders.

The only place of the worker that opens sessions or maps ORM rows: each call is one short
transaction, and no session is held across the network. Each call waits out a database
outage (a restart, a failover) and then runs again from its start (`DATABASE_HOLD_S`), so a
job goes on through it: a part Telegram took while the database was away is recorded once
it is back, a lease renewal goes through late instead of counting as the lease lost.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot import metrics
from mediabot.db.engine import uninterrupted
from mediabot.db.models import File, FilePart, User
from mediabot.db.outages import database_unavailable
from mediabot.db.repositories import ChatRepository, FileRepository, PlaylistRepository
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.media import DownloadResult, Progress, ProgressCallback
from mediabot.domain.playlist import PlaylistTally
from mediabot.domain.retry import Backoff, hold_through
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import get_resolutions, make_downloader
from mediabot.downloaders.streams import StreamPlan
from mediabot.i18n import DEFAULT_LOCALE, locale_for, use_locale
from mediabot.senders.base import PartCallback, ResumePoint, SendTarget, SentPart
from mediabot.senders.cached import CachedPart, CachedSender
from mediabot.senders.inline import InlineCachedSender, InlineSender
from mediabot.senders.registry import make_sender, make_stream_sender
from mediabot.senders.streamed import may_fit
from mediabot.telegram.pacing import Pacer
from mediabot.worker import texts
from mediabot.worker.playlist import PlaylistItemStatus
from mediabot.worker.ports import Downloader, RequestsStore, Sender, Status
from mediabot.worker.progress import StatusMessage
from mediabot.worker.request import CachedDelivery, Claim, PlaylistPlace, Request

logger = logging.getLogger(__name__)

DATABASE_HOLD_S = 600.0
"""How long one database call of a job waits for the database to come back; after that its
failure goes the usual way (the job comes back later, see `worker.pipeline`)."""
_HOLD_BACKOFF = Backoff(base_delay_s=0.25, max_delay_s=2.0)

_T = TypeVar("_T")
_P = ParamSpec("_P")
_Store = TypeVar("_Store", bound="DatabaseRequests")


def _through_outages(
    call: Callable[Concatenate[_Store, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[_Store, _P], Coroutine[Any, Any, _T]]:
    """The call, run again from its start while the database is away (see the module)."""

    @functools.wraps(call)
    async def held(store: _Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        waited = time.monotonic()
        held = False

        async def on_hold(exc: BaseException, failures: int) -> None:
            nonlocal held
            held = True
            if failures == 1:
                logger.warning("%s waits for the database: %s", call.__name__, _brief(exc))

        answer = await hold_through(
            lambda: call(store, *args, **kwargs),
            database_unavailable,
            _HOLD_BACKOFF,
            give_up_at=waited + store.hold_s,
            on_hold=on_hold,
        )
        if held:
            logger.info("%s went through after %.1f s", call.__name__, time.monotonic() - waited)
        return answer

    return held


def _brief(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"


def _count_ending(file: File) -> None:
    """A request reached its final state: the metrics of requests and press-to-file."""
    provider = metrics.provider_of(file.media_key)
    kind = file.kind.value if file.kind is not None else "none"
    metrics.REQUESTS.labels(provider, kind, file.state.value).inc()
    if file.state is RequestState.DELIVERED and file.chosen_at is not None:
        elapsed = (datetime.now(UTC) - file.chosen_at).total_seconds()
        metrics.PRESS_TO_FILE_SECONDS.labels(provider).observe(max(0.0, elapsed))


def _request_of(file: File) -> Request | None:
    """The snapshot of a row loaded with its chat and parts; None without a choice."""
    if file.kind is None:
        return None
    return Request(
        id=file.id,
        chat_id=file.chat_id,
        chat_telegram_id=file.chat.telegram_id,
        chat_blocked=file.chat.blocked_at is not None,
        kind=file.kind,
        resolution=file.resolution,
        media_key=file.media_key,
        url=file.request_url,
        title=file.title,
        offer=file.offer,
        status_message_id=file.status_message_id,
        delivered_parts=len(file.parts),
        reply_to_message_id=file.link_message_id,
        message_thread_id=file.message_thread_id,
        locale=_locale_of(file.requested_by),
        attempts=max(file.attempts, 1),
        playlist=_place_of(file),
        inline_message_id=file.inline_message_id,
    )


def _place_of(file: File) -> PlaylistPlace | None:
    if file.playlist is None or file.playlist_position is None:
        return None
    return PlaylistPlace(file.playlist.id, file.playlist_position, len(file.playlist.entries))


def _locale_of(user: User | None) -> str:
    return locale_for(user.language_code, user.language) if user is not None else DEFAULT_LOCALE


def _cached_of(file: File) -> CachedDelivery:
    return CachedDelivery(
        id=file.id,
        parts=tuple(
            CachedPart(
                kind=part.kind,
                file_id=part.telegram_file_id,
                file_unique_id=part.telegram_file_unique_id,
                size_bytes=part.size_bytes,
                start_s=part.start_s,
                end_s=part.end_s,
            )
            for part in file.parts
        ),
        size_bytes=file.size_bytes,
        title=file.title,
    )


@dataclass(frozen=True, slots=True)
class DatabaseRequests:
    """`RequestsStore` over the database, on behalf of the worker `owner`."""

    sessions: async_sessionmaker[AsyncSession]
    owner: str
    lease: timedelta
    max_running_per_user: int | None
    hold_s: float = DATABASE_HOLD_S
    """How long each call waits out a database outage."""

    @_through_outages
    async def claim(self, request_id: uuid.UUID, *, fair: bool = True) -> Claim:
        """Claim the fairest request (fair turns), `request_id` when it is as fair as any;
        not `fair`: `request_id` or nothing."""
        async with self.sessions() as session:
            files = FileRepository(session)
            share = self.max_running_per_user
            if fair:
                taken = await files.claim_fairest(
                    request_id, self.owner, self.lease, max_per_user=share
                )
            else:
                claimed = await files.claim(request_id, self.owner, self.lease, max_per_user=share)
                taken = request_id if claimed else None
            # A job whose own request was taken by a fairer turn stands for another request
            # still waiting (its user at their share): it comes back rather than vanish, as
            # that request may have no message of its own any more.
            waiting = taken is None and (
                await files.defer_if_waiting(request_id) or (fair and await files.any_claimable())
            )
            file = await files.get_with_chat(taken) if taken is not None else None
            await session.commit()
        request = _request_of(file) if file is not None else None
        return Claim(taken is not None, waiting, request, taken)

    @_through_outages
    async def release(
        self,
        request_id: uuid.UUID,
        *,
        expire: bool = False,
        refund: bool = False,
        requeue: bool = False,
    ) -> None:
        async with self.sessions() as session:
            await FileRepository(session).release(
                request_id, self.owner, expire=expire, refund=refund, requeue=requeue
            )
            await session.commit()

    @_through_outages
    async def renew(self, request_id: uuid.UUID, progress: Progress | None = None) -> bool:
        # The lease watcher that calls this is cancelled at the end of every job, often
        # mid-renewal: the renewal finishes first (see `uninterrupted`).
        return await uninterrupted(self._renew(request_id, progress))

    async def _renew(self, request_id: uuid.UUID, progress: Progress | None) -> bool:
        async with self.sessions() as session:
            files = FileRepository(session)
            held = await files.renew_lease(request_id, self.owner, self.lease, progress)
            file = await files.get(request_id)
            await session.commit()
        return held and file is not None and not file.state.is_final

    @_through_outages
    async def state_of(self, request_id: uuid.UUID) -> RequestState | None:
        async with self.sessions() as session:
            file = await FileRepository(session).get(request_id)
        return file.state if file is not None else None

    @_through_outages
    async def set_state(
        self, /, request_id: uuid.UUID, state: RequestState, **values: object
    ) -> bool:
        async with self.sessions() as session:
            files = FileRepository(session)
            changed = await files.set_state(request_id, state, owner=self.owner, **values)
            ended = await files.get(request_id) if changed and state.is_final else None
            await session.commit()
        if ended is not None:
            _count_ending(ended)
        return changed

    @_through_outages
    async def give_up(self, request_id: uuid.UUID, reason: str) -> Request | None:
        async with self.sessions() as session:
            files = FileRepository(session)
            changed = await files.set_state(request_id, RequestState.FAILED, error_reason=reason)
            file = await files.get_with_chat(request_id)
            await session.commit()
        if changed and file is not None:
            _count_ending(file)
        return _request_of(file) if changed and file is not None else None

    @_through_outages
    async def end_chat(self, chat_id: uuid.UUID, reason: str) -> int:
        async with self.sessions() as session:
            await ChatRepository(session).mark_blocked(chat_id)
            ended = await FileRepository(session).end_pending_of_chat(
                chat_id, RequestState.FAILED, reason
            )
            await session.commit()
        return len(ended)

    @_through_outages
    async def find_delivered(self, request: Request) -> CachedDelivery | None:
        async with self.sessions() as session:
            hit = await FileRepository(session).find_delivered(
                request.media_key, request.kind, request.resolution
            )
        metrics.CACHE_LOOKUPS.labels("miss" if hit is None else "hit").inc()
        return _cached_of(hit) if hit is not None else None

    @_through_outages
    async def drop_parts(self, *request_ids: uuid.UUID) -> None:
        async with self.sessions() as session:
            for request_id in request_ids:
                await FileRepository(session).drop_parts(request_id)
            await session.commit()

    @_through_outages
    async def being_fetched(self, request_id: uuid.UUID, *, ordered: bool = True) -> bool:
        async with self.sessions() as session:
            files = FileRepository(session)
            me = await files.get(request_id)
            if me is None or (ordered and me.fetch_started_at is None):
                return False  # ordered: one that never started a fetch waits for no twin
            return await files.being_fetched(me, ordered=ordered)

    @_through_outages
    async def last_part(self, request_id: uuid.UUID) -> tuple[int, float | None] | None:
        async with self.sessions() as session:
            parts = await FileRepository(session).parts_of(request_id)
        return (parts[-1].index, parts[-1].end_s) if parts else None

    @_through_outages
    async def add_part(self, request_id: uuid.UUID, part: SentPart) -> None:
        async with self.sessions() as session:
            await FileRepository(session).add_part(
                request_id,
                FilePart(
                    index=part.index,
                    kind=part.kind,
                    telegram_file_id=part.file_id,
                    telegram_file_unique_id=part.file_unique_id,
                    message_id=part.message_id or None,  # 0: put in an inline message
                    size_bytes=part.size_bytes,
                    start_s=part.start_s,
                    end_s=part.end_s,
                ),
            )
            await session.commit()

    @_through_outages
    async def set_resolution(self, request_id: uuid.UUID, height: int) -> bool:
        async with self.sessions() as session:
            files = FileRepository(session)
            file = await files.get(request_id)
            if file is None or file.lease_owner != self.owner or file.state.is_final:
                return False
            file.resolution = height
            await session.commit()
        return True

    @_through_outages
    async def playlist_tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        async with self.sessions() as session:
            tally = await PlaylistRepository(session).tally(playlist_id)
            await session.commit()
        return tally

    @_through_outages
    async def allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        # Asked from a status edit's task, which `StatusMessage.close` may cancel.
        return await uninterrupted(self._allow_status_edit(playlist_id, window_s))

    async def _allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        async with self.sessions() as session:
            allowed = await PlaylistRepository(session).allow_status_edit(playlist_id, window_s)
            await session.commit()
        return allowed

    @_through_outages
    async def end_playlist(self, playlist_id: uuid.UUID) -> float | None:
        async with self.sessions() as session:
            playlists = PlaylistRepository(session)
            ended = await playlists.end(playlist_id, RequestState.DELIVERED)
            settles_in = await playlists.status_settles_in(playlist_id) if ended else None
            await session.commit()
        return settles_in


@dataclass(frozen=True, slots=True)
class AiogramSenders:
    """`Senders` over the senders family and the worker's bot."""

    bot: Bot
    limit_bytes: int
    pacer: Pacer

    async def held_s(self, chat_id: int) -> float:
        return await self.pacer.delay(chat_id)

    def cached(
        self, target: SendTarget, parts: Sequence[CachedPart], on_part: PartCallback
    ) -> Sender:
        if target.inline is not None:
            return InlineCachedSender(self.bot, target, parts, on_part=on_part)
        return CachedSender(self.bot, target, parts, on_part=on_part)

    def fresh(
        self,
        result: DownloadResult,
        target: SendTarget,
        on_part: PartCallback,
        resume: ResumePoint | None,
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
            ),
        )

    def stream(
        self,
        plan: StreamPlan,
        target: SendTarget,
        folder: Path,
        on_part: PartCallback,
        resume: ResumePoint | None,
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
                whole_first=may_fit(plan.estimated_bytes, self.limit_bytes),
                progress=progress,
                on_fetched=on_fetched,
            ),
        )

    def _into_inline(self, target: SendTarget, upload: Sender) -> Sender:
        """An inline request's upload goes to the storage chat, then into its message."""
        return upload if target.inline is None else InlineSender(self.bot, target, upload)


@dataclass(frozen=True, slots=True)
class RegistryDownloaders:
    """`Downloaders` over the downloaders' registry."""

    options: DownloadOptions

    def __call__(
        self,
        url: str,
        resolution: int | None,
        kind: MediaKind,
        found: Mapping[str, Any] | None = None,
    ) -> Downloader:
        return make_downloader(url, resolution, options=self.options, kind=kind, found=found)

    async def heights(self, url: str) -> tuple[int, ...]:
        return (await get_resolutions(url, self.options)).heights


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
