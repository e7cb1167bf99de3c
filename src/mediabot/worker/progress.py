"""Paced edits of a request's status message: queue, download, upload, then out of the way."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup

from mediabot.domain.enums import DownloadPhase
from mediabot.domain.media import DownloadProgress
from mediabot.telegram.pacing import Pacer

logger = logging.getLogger(__name__)

EDIT_INTERVAL_S = 3.0


def _megabytes(size: float) -> str:
    return f"{size / 1_000_000:.1f}"


def _clock_time(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"


def describe_download(progress: DownloadProgress) -> str:
    """One line for the status message, e.g. "⬇️ Downloading… 45% · 12.3 of 27.0 MB · ETA 0:07"."""
    if progress.phase is DownloadPhase.PROCESSING:
        return "⚙️ Processing…"
    if progress.phase is DownloadPhase.PROBING:
        return "🔎 Preparing…"
    parts = ["⬇️ Downloading…"]
    if progress.fraction is not None and progress.total_bytes:
        parts[0] += f" {progress.fraction:.0%}"
        parts.append(
            f"{_megabytes(progress.downloaded_bytes)} of {_megabytes(progress.total_bytes)} MB"
        )
    elif progress.downloaded_bytes:
        parts.append(f"{_megabytes(progress.downloaded_bytes)} MB")
    if progress.speed_bps:
        parts.append(f"{_megabytes(progress.speed_bps)} MB/s")
    if progress.eta_s is not None and progress.eta_s > 0:
        parts.append(f"ETA {_clock_time(progress.eta_s)}")
    return " · ".join(parts)


def describe_upload(index: int, total: int) -> str:
    if total <= 1:
        return "⬆️ Uploading…"
    return f"⬆️ Uploading part {index + 1}/{total}…"


class StatusMessage:
    """The request's status message, edited at most every few seconds.

    Download progress arrives from the download thread; only the latest text is kept and
    a flusher task writes it. Edits are droppable: when the pacer has no room right now,
    the edit waits for the next tick instead of queueing ahead of deliveries.
    """

    def __init__(
        self,
        bot: Bot,
        pacer: Pacer,
        chat_id: int,
        message_id: int | None,
        markup: InlineKeyboardMarkup | None = None,
        *,
        interval_s: float = EDIT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._pacer = pacer
        self._chat_id = chat_id
        self._message_id = message_id
        self._markup = markup
        self._interval_s = interval_s
        self._clock = clock
        self._shown = ""
        self._wanted = ""
        self._last_edit = float("-inf")
        self._loop = asyncio.get_running_loop()
        self._flusher: asyncio.Task[None] | None = None

    def on_download(self, progress: DownloadProgress) -> None:
        """Progress callback for downloaders; safe to call from any thread."""
        self._loop.call_soon_threadsafe(self.show, describe_download(progress))

    def show(self, text: str) -> None:
        """Ask for `text` to be shown; it is, within the edit interval, unless replaced."""
        self._wanted = text
        if self._message_id is None or self._flusher is not None:
            return
        self._flusher = self._loop.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        try:
            while self._wanted != self._shown:
                wait = self._last_edit + self._interval_s - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not self._pacer.has_room(self._chat_id):
                    await asyncio.sleep(self._interval_s / 3)
                    continue
                await self._edit(self._wanted, self._markup)
        finally:
            self._flusher = None

    async def _edit(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        self._shown = text
        self._last_edit = self._clock()
        if self._message_id is None:
            return
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=self._chat_id, message_id=self._message_id, reply_markup=markup
            )
        except TelegramAPIError as exc:
            # "message is not modified" or deleted by the user: nothing to do about it.
            logger.debug("status edit in chat %s skipped: %s", self._chat_id, exc)

    async def _stop_flusher(self) -> None:
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    async def finish(self, text: str) -> None:
        """Show a final text at once, without buttons (an error, a cancellation)."""
        await self._stop_flusher()
        self._wanted = text
        await self._edit(text, None)

    async def remove(self) -> None:
        """Delete the status message: the file has arrived and speaks for itself."""
        await self._stop_flusher()
        if self._message_id is None:
            return
        try:
            await self._bot.delete_message(chat_id=self._chat_id, message_id=self._message_id)
        except TelegramAPIError as exc:
            logger.debug("status message in chat %s not deleted: %s", self._chat_id, exc)
