"""One job, end to end: lease -> cache check -> download -> send -> record.

The database decides who works on a request: a worker first takes a lease on it, and
renews it while it works. A job delivered twice by the queue, or a job whose worker
died, is therefore never worked on by two workers at once, and parts already delivered
are never sent again. A user's requests beyond `max_running_per_user` are not claimed:
their jobs go back to the queue for a short while (no attempt used), so one user's slow
sources never hold every slot.

Every ending leaves nothing in the request's work folder, and nothing edits its status
message after its final text. Telegram's flood waits are sat out (the lease renewed, the
status saying so); a chat Telegram no longer lets the bot write to is marked blocked and
its pending requests end without a word.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.models import File, FilePart
from mediabot.db.repositories import ChatRepository, FileRepository
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.media import DownloadResult
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.errors import DownloadError
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import make_downloader
from mediabot.queue.base import DeferJobError, RetryJobError
from mediabot.senders.base import (
    DeliveryError,
    ResumePoint,
    SendTarget,
    SentPart,
    StaleFileIdError,
)
from mediabot.senders.cached import CachedPart, CachedSender
from mediabot.senders.registry import make_sender, make_stream_sender
from mediabot.telegram import texts
from mediabot.telegram.errors import chat_unreachable, describe
from mediabot.telegram.flood import flood_observer
from mediabot.telegram.pacing import Pacer
from mediabot.worker.progress import StatusMessage, describe_upload

logger = logging.getLogger(__name__)

WATCH_EVERY_S = 3.0
TWIN_POLL_S = 1.0
TWIN_WAIT_S = 30 * 60.0

SORRY = "Sorry, this download failed. Please try again later."
CANCELLED = "Cancelled."


@dataclass(frozen=True, slots=True)
class PipelineParts:
    """What a pipeline works with, built once per worker process."""

    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    pacer: Pacer
    download_options: DownloadOptions
    work_dir: Path
    upload_limit_bytes: int
    owner: str
    status_markup: Callable[[uuid.UUID], InlineKeyboardMarkup | None]
    lease: timedelta = timedelta(minutes=2)
    """How long a claim lasts without renewal; a dead worker's request waits this long."""
    max_running_per_user: int | None = 1
    """Requests of one user worked on at once across all workers (None: no limit)."""


class _LeftOurHandsError(Exception):
    """The request left this worker's hands: the user cancelled it, or the lease was lost."""


class Pipeline:
    """Runs jobs; `handle` is the queue's job handler."""

    def __init__(self, parts: PipelineParts) -> None:
        self._parts = parts
        self._ending: set[uuid.UUID] = set()
        """Requests this worker is ending itself: their final state stops no one."""

    async def handle(self, job: Job) -> None:
        """Work on one job; returns when its outcome is recorded, raises to ask for a retry.

        Raises `DeferJobError` when the user already has their share of requests running.
        """
        request_id = job.request_id
        async with self._parts.sessions() as session:
            files = FileRepository(session)
            claimed = await files.claim(
                request_id,
                self._parts.owner,
                self._parts.lease,
                max_per_user=self._parts.max_running_per_user,
            )
            waits = not claimed and await files.defer_if_waiting(request_id)
            file = await files.get_with_chat(request_id) if claimed else None
            await session.commit()
        if waits:
            logger.info("job %s: the user's other requests are running; waiting", request_id)
            raise DeferJobError("the user's other requests are running")
        if not claimed:
            logger.info("job %s: skipped, finished or held by another worker", request_id)
            return
        if file is None or file.kind is None:
            logger.error("job %s: no such request, or no choice made", request_id)
            await self._release(request_id)
            return
        logger.info("job %s: started (attempt %s)", request_id, job.attempt)
        # Whatever an earlier attempt (or a killed worker) left here is of no use now.
        self._clean(request_id)
        status = self._status_of(file, self._parts.status_markup(request_id))
        work = asyncio.create_task(self._work(file, status))
        watcher = asyncio.create_task(self._watch(request_id, work))
        try:
            await work
        except _LeftOurHandsError:
            await self._show_cancelled(request_id, status)
        except asyncio.CancelledError:
            if not (watcher.done() and watcher.result()):
                # This worker is stopping: hand the request back for another worker.
                await asyncio.shield(self._release(request_id, expire=True))
                raise
            await self._show_cancelled(request_id, status)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            self._ending.discard(request_id)
            await asyncio.shield(status.close())
            self._clean(request_id)

    def _clean(self, request_id: uuid.UUID) -> None:
        """Remove the request's work folder (downloads, parts, thumbnails) and all in it."""
        shutil.rmtree(self._parts.work_dir / str(request_id), ignore_errors=True)

    async def _show_cancelled(self, request_id: uuid.UUID, status: StatusMessage) -> None:
        async with self._parts.sessions() as session:
            file = await FileRepository(session).get(request_id)
        if file is not None and file.state is RequestState.CANCELLED:
            logger.info("job %s: cancelled by the user", request_id)
            await status.finish(CANCELLED)

    async def on_dead_letter(self, job: Job, reason: str) -> None:
        """A job that ran out of attempts: record the failure and tell the user."""
        logger.error("job %s: given up after %s attempts: %s", job.request_id, job.attempt, reason)
        async with self._parts.sessions() as session:
            files = FileRepository(session)
            changed = await files.set_state(
                job.request_id, RequestState.FAILED, error_reason=reason
            )
            file = await files.get_with_chat(job.request_id)
            await session.commit()
        self._clean(job.request_id)
        if changed and file is not None and file.chat.blocked_at is None:
            await self._status_of(file).finish(f"❌ {SORRY}")

    def _status_of(self, file: File, markup: InlineKeyboardMarkup | None = None) -> StatusMessage:
        """The request's status message in its chat (loaded with the file)."""
        return StatusMessage(
            self._parts.bot,
            self._parts.pacer,
            file.chat.telegram_id,
            file.status_message_id,
            markup,
        )

    async def _watch(self, request_id: uuid.UUID, work: asyncio.Task[None]) -> bool:
        """Renew the lease; cancel the work when the lease is lost or the user cancels."""
        while not work.done():
            # Often enough to renew in time and to notice a cancel within seconds.
            await asyncio.sleep(min(self._parts.lease.total_seconds() / 4, WATCH_EVERY_S))
            async with self._parts.sessions() as session:
                files = FileRepository(session)
                held = await files.renew_lease(request_id, self._parts.owner, self._parts.lease)
                file = await files.get(request_id)
                await session.commit()
            if request_id in self._ending:
                return False  # ended by the work itself, which is saying its last word
            if not held or file is None or file.state.is_final:
                logger.info("job %s: lease lost or request ended; stopping", request_id)
                work.cancel()
                return True
        return False

    async def _release(self, request_id: uuid.UUID, *, expire: bool = False) -> None:
        async with self._parts.sessions() as session:
            await FileRepository(session).release(request_id, self._parts.owner, expire=expire)
            await session.commit()

    async def _set_state(
        self, request_id: uuid.UUID, state: RequestState, **values: object
    ) -> None:
        if state.is_final:
            self._ending.add(request_id)
        async with self._parts.sessions() as session:
            changed = await FileRepository(session).set_state(
                request_id, state, owner=self._parts.owner, **values
            )
            await session.commit()
        if not changed:
            raise _LeftOurHandsError

    async def _work(self, file: File, status: StatusMessage) -> None:
        request_id = file.id
        if file.chat.blocked_at is not None:
            logger.info("job %s: chat %s is blocked; ending", request_id, file.chat.telegram_id)
            await self._end_chat(file, "the chat was unreachable before")
            return
        try:
            # A flood wait of any length is sat out inside the send (the lease renewed by
            # `_watch` meanwhile); the observer tells the user why nothing moves.
            with flood_observer(status.on_flood_wait):
                await self._deliver(file, file.chat.telegram_id, status)
        except _LeftOurHandsError:
            raise
        except DownloadError as exc:
            if exc.transient:
                logger.warning("job %s: transient failure: %s", request_id, exc.detail)
                await self._release(request_id)
                raise RetryJobError(exc.user_message) from exc
            logger.info("job %s: failed: %s (%s)", request_id, exc.user_message, exc.detail)
            await self._fail(request_id, exc.user_message, status)
        except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError) as exc:
            # Passing: a flood wait over a configured cap, Telegram down for a while.
            logger.warning("job %s: Telegram is not taking it now: %s", request_id, exc)
            await self._release(request_id)
            raise RetryJobError(describe(exc)) from exc
        except TelegramAPIError as exc:
            if chat_unreachable(exc):
                logger.warning(
                    "job %s: chat %s is unreachable (%s); ending its requests",
                    request_id,
                    file.chat.telegram_id,
                    exc.message,
                )
                await self._end_chat(file, exc.message)
                return
            logger.warning("job %s: Telegram refused the delivery: %s", request_id, exc.message)
            await self._fail(request_id, describe(exc), status, detail=exc.message)
        except RetryJobError:
            await self._release(request_id)
            raise
        except Exception as exc:
            logger.exception("job %s: unexpected failure", request_id)
            await self._release(request_id)
            raise RetryJobError(f"{type(exc).__name__}: {exc}") from exc

    async def _fail(
        self,
        request_id: uuid.UUID,
        reason: str,
        status: StatusMessage,
        *,
        detail: str | None = None,
    ) -> None:
        """End the request as failed and tell the user `reason` (`detail` is recorded)."""
        self._ending.add(request_id)
        async with self._parts.sessions() as session:
            changed = await FileRepository(session).set_state(
                request_id,
                RequestState.FAILED,
                owner=self._parts.owner,
                error_reason=f"{reason} ({detail})" if detail else reason,
            )
            await session.commit()
        if not changed:
            raise _LeftOurHandsError  # cancelled meanwhile: "Cancelled." is the last word
        await status.finish(f"❌ {reason}")

    async def _end_chat(self, file: File, detail: str) -> None:
        """Telegram no longer lets the bot write to this chat: mark it, end its requests.

        Nothing is said (nobody would read it). The block is lifted when the chat writes
        to the bot again (`ChatRepository.upsert`).
        """
        reason = f"chat unreachable: {detail}"
        self._ending.add(file.id)
        async with self._parts.sessions() as session:
            await ChatRepository(session).mark_blocked(file.chat_id)
            ended = await FileRepository(session).end_pending_of_chat(
                file.chat_id, RequestState.FAILED, reason
            )
            await session.commit()
        logger.info(
            "job %s: ended %d pending request(s) of chat %s", file.id, len(ended), file.chat_id
        )

    async def _deliver(self, file: File, chat_id: int, status: StatusMessage) -> None:
        assert file.kind is not None
        target = SendTarget.for_media(chat_id, file.title or "", file.request_url)
        if not file.parts and await self._send_cached(file, target, status):
            return

        await self._set_state(file.id, RequestState.DOWNLOADING)
        status.show("⬇️ Downloading…")
        if (
            not file.parts
            and await self._wait_for_twin(file, status)
            and await self._send_cached(file, target, status)
        ):
            return
        downloader = make_downloader(
            file.request_url,
            file.resolution or 0,
            options=self._parts.download_options,
            kind=file.kind,
        )
        folder = self._parts.work_dir / str(file.id)
        folder.mkdir(parents=True, exist_ok=True)
        if self._worth_streaming(file) and await self._stream(file, downloader, folder, status):
            return
        result = await downloader.download(folder, progress=status.on_download)
        logger.info(
            "job %s: downloaded %s file(s), %s bytes", file.id, len(result.items), result.size_bytes
        )

        await self._set_state(
            file.id,
            RequestState.UPLOADING,
            title=texts.plain(result.title or file.title, 512) or None,
            duration_s=result.duration_s,
            size_bytes=result.size_bytes,
        )
        target = SendTarget.for_media(chat_id, result.title or "", file.request_url)
        await self._send_fresh(file, result, target, status)

    async def _wait_for_twin(self, file: File, status: StatusMessage) -> bool:
        """Wait while another worker fetches this same media; `True` if there was one.

        Many people send the same new link at once: one download serves them all from the
        cache, instead of one download each. The twin whose fetch started first goes on, the
        others wait (no two wait for each other); if it fails, the next one goes on alone.
        """
        waited = 0.0
        while waited < TWIN_WAIT_S:
            async with self._parts.sessions() as session:
                files = FileRepository(session)
                me = await files.get(file.id)
                busy = me is not None and await files.being_fetched(me)
            if not busy:
                return waited > 0
            if waited == 0:
                logger.info("job %s: the same media is being fetched; waiting for it", file.id)
                status.show("⏳ Fetching…")
            await asyncio.sleep(TWIN_POLL_S)
            waited += TWIN_POLL_S
        return True

    def _worth_streaming(self, file: File) -> bool:
        """Whether the offer's size estimate says the file needs parts anyway.

        Then cutting straight from the source while earlier parts upload saves the time
        and the disk of a full download; small files are simply downloaded.
        """
        offer = file.offer or {}
        if file.kind is MediaKind.VIDEO:
            estimate = (offer.get("sizes") or {}).get(str(file.resolution))
        else:
            estimate = offer.get("audio_size")
        return isinstance(estimate, int) and estimate > self._parts.upload_limit_bytes

    async def _stream(
        self, file: File, downloader: Downloader, folder: Path, status: StatusMessage
    ) -> bool:
        """Deliver in parts cut straight from the source; `False` when it cannot be streamed.

        A stream that breaks midway (an expired link, the origin gone) falls back to the
        download, which resumes after the parts already delivered.
        """
        plan = await downloader.locate_streams(folder)
        if plan is None or (
            plan.estimated_bytes is not None
            and plan.estimated_bytes <= self._parts.upload_limit_bytes
        ):
            return False
        logger.info("job %s: streaming %s bytes in parts", file.id, plan.estimated_bytes)
        await self._set_state(
            file.id,
            RequestState.UPLOADING,
            title=texts.plain(plan.title or file.title, 512) or None,
            duration_s=plan.duration_s,
            size_bytes=plan.estimated_bytes,
        )
        status.show(describe_upload(len(file.parts), 2))
        sender = make_stream_sender(
            self._parts.bot,
            plan.source,
            SendTarget.for_media(file.chat.telegram_id, plan.title, file.request_url),
            work_dir=folder,
            limit_bytes=self._parts.upload_limit_bytes,
            title=plan.title,
            performer=plan.uploader,
            cover=plan.thumbnail,
            on_part=self._part_recorder(file.id, status),
            resume=await self._resume_point(file.id),
        )
        try:
            sent = await sender.send()
        except DeliveryError as exc:
            logger.warning("job %s: streaming failed (%s); downloading instead", file.id, exc)
            await self._set_state(file.id, RequestState.DOWNLOADING)
            return False
        await self._finish_delivery(file.id, len(sent), status)
        return True

    async def _send_cached(self, file: File, target: SendTarget, status: StatusMessage) -> bool:
        """Send the file ids of an earlier delivery; `False` when there is none that works."""
        assert file.kind is not None
        async with self._parts.sessions() as session:
            hit = await FileRepository(session).find_delivered(
                file.media_key, file.kind, file.resolution
            )
        if hit is None:
            return False
        cached = [
            CachedPart(
                kind=part.kind,
                file_id=part.telegram_file_id,
                file_unique_id=part.telegram_file_unique_id,
                size_bytes=part.size_bytes,
                start_s=part.start_s,
                end_s=part.end_s,
            )
            for part in hit.parts
        ]
        await self._set_state(file.id, RequestState.UPLOADING)
        sender = CachedSender(self._parts.bot, target, cached, on_part=self._recorder(file.id))
        try:
            await sender.send()
        except StaleFileIdError:
            logger.warning("job %s: cached file ids of %s are stale; downloading", file.id, hit.id)
            async with self._parts.sessions() as session:
                await FileRepository(session).drop_parts(hit.id)
                await FileRepository(session).drop_parts(file.id)
                await session.commit()
            return False
        logger.info("job %s: delivered from the cache of %s", file.id, hit.id)
        await self._set_state(
            file.id, RequestState.DELIVERED, size_bytes=hit.size_bytes, title=hit.title
        )
        await status.remove()
        return True

    async def _send_fresh(
        self, file: File, result: DownloadResult, target: SendTarget, status: StatusMessage
    ) -> None:
        resume = await self._resume_point(file.id)
        status.show(describe_upload(resume.next_index if resume else 0, 1))
        sender = make_sender(
            self._parts.bot,
            result,
            target,
            limit_bytes=self._parts.upload_limit_bytes,
            on_part=self._part_recorder(file.id, status),
            resume=resume,
        )
        sent = await sender.send()
        await self._finish_delivery(file.id, len(sent), status)

    async def _finish_delivery(
        self, request_id: uuid.UUID, parts: int, status: StatusMessage
    ) -> None:
        await self._set_state(request_id, RequestState.DELIVERED)
        logger.info("job %s: delivered in %s part(s)", request_id, parts)
        await status.remove()

    async def _resume_point(self, request_id: uuid.UUID) -> ResumePoint | None:
        """Where an interrupted delivery goes on: after the last part Telegram accepted."""
        async with self._parts.sessions() as session:
            parts = await FileRepository(session).parts_of(request_id)
        if not parts:
            return None
        last = parts[-1]
        logger.info("job %s: resuming at part %s", request_id, last.index + 2)
        return ResumePoint(next_index=last.index + 1, start_s=last.end_s or 0.0)

    def _part_recorder(
        self, request_id: uuid.UUID, status: StatusMessage
    ) -> Callable[[SentPart], Awaitable[None]]:
        """Records each part as Telegram accepts it, and shows the next one uploading."""
        record = self._recorder(request_id)

        async def on_part(part: SentPart) -> None:
            await record(part)
            if part.index + 1 < part.total:
                status.show(describe_upload(part.index + 1, part.total))

        return on_part

    def _recorder(self, request_id: uuid.UUID) -> Callable[[SentPart], Awaitable[None]]:
        async def record(part: SentPart) -> None:
            async with self._parts.sessions() as session:
                await FileRepository(session).add_part(
                    request_id,
                    FilePart(
                        index=part.index,
                        kind=part.kind,
                        telegram_file_id=part.file_id,
                        telegram_file_unique_id=part.file_unique_id,
                        message_id=part.message_id,
                        size_bytes=part.size_bytes,
                        start_s=part.start_s,
                        end_s=part.end_s,
                    ),
                )
                await session.commit()

        return record
