"""Paced edits of a request's status message: queue, download, upload, then out of the way."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageText
from aiogram.types import InlineKeyboardMarkup

from mediabot.domain.enums import DownloadPhase
from mediabot.domain.media import DownloadProgress, Progress
from mediabot.domain.playlist import STATUS_EDIT_WINDOW_S
from mediabot.i18n import current_locale, use_locale
from mediabot.telegram.flood import FloodWait
from mediabot.telegram.pacing import Pacer
from mediabot.worker import texts

logger = logging.getLogger(__name__)

EDIT_INTERVAL_S = 3.0
IN_FLIGHT_GRACE_S = 5.0
"""How long a final text waits for a progress edit already on its way to Telegram."""
NOTICE_TIMEOUT_S = 5.0
"""How long a flood-wait notice may take before it is dropped."""

EditGate = Callable[[float], Awaitable[bool]]
"""Asked before each edit of a message others edit too (a playlist's, by each item's
worker): whether the edit may go, landing within the seconds given; False once the
message has had its last word from someone else."""


def _megabytes(size: float) -> str:
    return f"{size / 1_000_000:.1f}"


def _clock_time(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"


def describe_download(progress: DownloadProgress) -> str:
    """One line for the status message, e.g. "⬇️ Downloading… 45% · 12.3 of 27.0 MB · ETA 0:07"."""
    if progress.phase is DownloadPhase.PROCESSING:
        return texts.processing()
    if progress.phase is DownloadPhase.PROBING:
        return texts.preparing()
    parts = [texts.downloading()]
    if progress.fraction is not None and progress.total_bytes:
        parts[0] += f" {progress.fraction:.0%}"
        parts.append(
            texts.downloaded_of(
                _megabytes(progress.downloaded_bytes), _megabytes(progress.total_bytes)
            )
        )
    elif progress.downloaded_bytes:
        parts.append(texts.megabytes(_megabytes(progress.downloaded_bytes)))
    if progress.speed_bps:
        parts.append(texts.megabytes_per_second(_megabytes(progress.speed_bps)))
    if progress.eta_s is not None and progress.eta_s > 0:
        parts.append(texts.eta(_clock_time(progress.eta_s)))
    return " · ".join(parts)


def describe_upload(index: int, total: int | None) -> str:
    """The upload line: part `index` (from 0) of `total`; None: a count not known yet."""
    if total is None:
        return texts.uploading_part(index + 1)
    if total <= 1:
        return texts.uploading()
    return texts.uploading_part_of(index + 1, total)


def describe_flood_wait(seconds: float) -> str:
    """The status while Telegram's flood control makes the delivery wait."""
    return texts.flood_wait(_clock_time(max(seconds, 1)))


class StatusMessage:
    """The request's status message, edited at most every few seconds.

    Download progress arrives from the download thread; only the latest text is kept and
    a flusher task writes it. Edits are droppable: when the pacer has no room right now,
    the edit waits for the next tick instead of queueing ahead of deliveries.

    `finish`, `remove` and `close` end it: nothing edits the message after that (a late
    progress report is ignored, an edit already on its way is waited for first), so a
    final text such as "Cancelled." is always the last one the user sees.

    A message shared across workers (a playlist's) has an `edit_gate`: every edit asks it
    first and is sent only if allowed, within `edit_window_s` or not at all; once the gate
    refuses (the message had its last word elsewhere) the status is closed. Only the one
    who ended what the message is about says the last word, past the gate.
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
        locale: str | None = None,
        heading: str = "",
        inline_message_id: str | None = None,
        edit_gate: EditGate | None = None,
        edit_window_s: float = STATUS_EDIT_WINDOW_S,
        kept_as: tuple[str, InlineKeyboardMarkup | None] | None = None,
    ) -> None:
        """`heading` goes before every progress text (a playlist item's place in it).

        With `kept_as` (a text and its buttons), `remove` leaves the message showing them
        instead of deleting it, and a `finish` that ended the request keeps the buttons.

        With `inline_message_id` the status is that message (posted through an inline
        result; `chat_id` is then only the pacing's key): it is edited, never deleted.
        With `edit_gate`, each edit asks it first (see the class).
        """
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
        self._in_flight: asyncio.Task[None] | None = None
        self._notice: asyncio.Task[None] | None = None
        self._closed = False
        self._progress = Progress()
        self._locale = locale or current_locale()
        """The language of the lines built here from progress reports (made off the job's task)."""
        self._heading = heading
        self._inline_message_id = inline_message_id
        self._gate = edit_gate
        self._edit_window_s = edit_window_s
        self._kept_as = kept_as

    def _edit_method(self, text: str, markup: InlineKeyboardMarkup | None) -> EditMessageText:
        """The edit of the status message (or of the inline message) to `text`."""
        if self._inline_message_id is not None:
            return EditMessageText(
                text=text, inline_message_id=self._inline_message_id, reply_markup=markup
            )
        return EditMessageText(
            text=text, chat_id=self._chat_id, message_id=self._message_id, reply_markup=markup
        )

    @property
    def _has_message(self) -> bool:
        return self._message_id is not None or self._inline_message_id is not None

    @property
    def closed(self) -> bool:
        """Whether the message got its final text (or was removed): no more edits."""
        return self._closed

    def on_download(self, progress: DownloadProgress) -> None:
        """Progress callback for downloaders; safe to call from any thread."""
        if not self._closed:
            self._loop.call_soon_threadsafe(self._show_download, progress)

    def _show_download(self, progress: DownloadProgress) -> None:
        if progress.fraction is not None:
            self._progress = replace(self._progress, percent=int(progress.fraction * 100))
        with use_locale(self._locale):
            self.show(describe_download(progress))

    def show_upload(self, index: int, total: int | None) -> None:
        """Show part `index` (from 0) of `total` uploading (None: a count not known yet)."""
        if total is not None:
            self._progress = replace(self._progress, parts_total=total)
        self.show(describe_upload(index, total))

    @property
    def progress(self) -> Progress:
        """Where the request stands, from what was shown (recorded for /queue)."""
        return self._progress

    def show(self, text: str) -> None:
        """Ask for `text` to be shown; it is, within the edit interval, unless replaced."""
        if self._closed:
            return
        self._wanted = self._heading + text
        self._start_flusher()

    def on_flood_wait(self, wait: FloodWait) -> None:
        """Tell the user the delivery waits out Telegram's flood control (best effort).

        A flood observer (see `telegram.flood`). The chat is held back by the pacer for the
        whole wait, so the notice is one edit sent past the pacer and the retries, dropped
        if Telegram refuses it or it takes long; waits shorter than the edit interval go
        unmentioned. After the wait, the flusher puts the progress text back.
        """
        if self._closed or not self._has_message or wait.retry_after < self._interval_s:
            return
        if self._notice is not None and not self._notice.done():
            return
        with use_locale(self._locale):
            text = self._heading + describe_flood_wait(wait.retry_after)
        self._shown = text
        self._last_edit = self._clock()
        self._notice = self._loop.create_task(self._send_notice(text))
        self._start_flusher()

    async def _send_notice(self, text: str) -> None:
        method = self._edit_method(text, self._markup)
        try:
            # The session's own request, without its middlewares: the pacer holds this
            # chat back for the whole wait, and a 429 on a notice is not worth a wait.
            await self._send(method, within_s=NOTICE_TIMEOUT_S, bare=True)
        except (TelegramAPIError, TimeoutError) as exc:
            logger.debug("flood-wait notice in chat %s dropped: %r", self._chat_id, exc)

    async def _send(
        self,
        method: EditMessageText,
        *,
        within_s: float | None = None,
        bare: bool = False,
        last_word: bool = False,
    ) -> None:
        """Send an edit, within `within_s` (`TimeoutError` after), `bare` past the
        session's middlewares. Behind a gate (unless it is the `last_word`) the edit goes
        only if the gate allows it, and within the gate's window."""
        gated = self._gate is not None and not last_word
        if gated:
            within_s = min(within_s or self._edit_window_s, self._edit_window_s)
        # The deadline is set before the gate records its window, so it falls inside it.
        deadline = self._loop.time() + within_s if within_s is not None else None
        if gated and self._gate is not None and not await self._gate(self._edit_window_s):
            logger.debug("status in chat %s had its last word elsewhere", self._chat_id)
            self._closed = True
            return
        async with asyncio.timeout_at(deadline):
            if bare:
                await self._bot.session.make_request(self._bot, method)
            else:
                await self._bot(method)

    def _start_flusher(self) -> None:
        if not self._has_message or self._flusher is not None or self._closed:
            return
        self._flusher = self._loop.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        try:
            while self._wanted != self._shown and not self._closed:
                wait = self._last_edit + self._interval_s - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not await self._pacer.has_room(self._chat_id):
                    await asyncio.sleep(self._interval_s / 3)
                    continue
                if self._closed:
                    return
                # Shielded: an edit on its way is let through, and a final text waits for it.
                self._in_flight = self._loop.create_task(self._edit(self._wanted, self._markup))
                await asyncio.shield(self._in_flight)
        finally:
            if self._flusher is asyncio.current_task():
                self._flusher = None

    async def _edit(
        self, text: str, markup: InlineKeyboardMarkup | None, *, last_word: bool = False
    ) -> None:
        self._shown = text
        self._last_edit = self._clock()
        if not self._has_message:
            return
        try:
            await self._send(self._edit_method(text, markup), last_word=last_word)
        except TelegramAPIError as exc:
            # "message is not modified" or deleted by the user: nothing to do about it.
            logger.debug("status edit in chat %s skipped: %s", self._chat_id, exc)
        except TimeoutError:
            logger.debug("status edit in chat %s dropped: not sent in time", self._chat_id)

    async def close(self) -> None:
        """End the status without a last word: no edit reaches the message after this."""
        self._closed = True
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
        for task in (self._in_flight, self._notice):
            if task is None or task.done():
                continue
            try:
                await asyncio.wait_for(asyncio.shield(task), IN_FLIGHT_GRACE_S)
            except TimeoutError:
                task.cancel()  # still held by the pacer, so not sent yet
                await asyncio.gather(task, return_exceptions=True)
            except Exception as exc:  # logged by the edit itself; a final text still goes
                logger.debug("status edit in chat %s ended badly: %r", self._chat_id, exc)

    async def finish(self, text: str, *, keep_buttons: bool = False, ended: bool = False) -> None:
        """Show a last text, without buttons (an error, a cancellation) unless
        `keep_buttons` (a playlist between two items: its ✖ still stops the rest). A
        status `kept_as` a line keeps that line's buttons under a text that `ended` the
        request (a failure: another choice may do)."""
        if self._closed:
            return
        await self.close()
        self._wanted = text
        markup = self._markup if keep_buttons else None
        if ended and self._kept_as is not None:
            markup = self._kept_as[1]
        await self._edit(text, markup)

    async def correct(
        self, text: str, *, keep_buttons: bool = False, last_word: bool = False
    ) -> None:
        """Replace the last text `finish` showed, when what it said changed while its edit
        was on its way (a later item's count). Nothing else edits after `finish`.

        `last_word`: the message's last text, said by whoever ended what it is about, past
        the gate (which refuses every other edit from then on)."""
        if not self._closed:
            raise RuntimeError("correct() follows finish()")
        self._wanted = text
        await self._edit(text, self._markup if keep_buttons else None, last_word=last_word)

    @property
    def message_for_file(self) -> int | None:
        """The status message, when `remove` would delete it: a file may take its place."""
        if self._closed or self._kept_as is not None or self._inline_message_id is not None:
            return None
        return self._message_id

    async def remove(self) -> None:
        """Delete the status message: the file has arrived and speaks for itself (an inline
        message became the file itself: nothing to delete). A status `kept_as` a line is
        edited into it instead, its last text."""
        if self._closed:
            return
        await self.close()
        if self._message_id is None:
            return
        if self._kept_as is not None:
            text, markup = self._kept_as
            self._wanted = text
            await self._edit(text, markup)
            return
        try:
            await self._bot.delete_message(chat_id=self._chat_id, message_id=self._message_id)
        except TelegramAPIError as exc:
            logger.debug("status message in chat %s not deleted: %s", self._chat_id, exc)
