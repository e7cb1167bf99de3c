"""Handing a job back before or during its work, no attempt used: the request is not at fault.

A nearly full disk and a chat Telegram holds back longer than a slot should wait are
checked before any work (`DeferJobError` brings the job back after the queue's defer delay).
Telegram's shorter flood waits are sat out inside the send (the download is not worth
repeating for them); a longer one ends the work and hands the job back
(`hand_back_flooded`), so one chat's wait does not hold a slot every other chat's jobs could
use. The job returns once the chat may be written to again: until then it is handed back
again, before any work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from aiogram.exceptions import TelegramRetryAfter

from mediabot.i18n import use_locale
from mediabot.queue.base import DeferJobError
from mediabot.telegram.flood import FloodWait
from mediabot.worker import texts
from mediabot.worker.ports import Ports
from mediabot.worker.request import Request
from mediabot.worker.steps.context import JobContext

logger = logging.getLogger(__name__)

FLOOD_HAND_BACK_S = 30.0
"""A flood wait longer than this is not sat out in the job's slot (see the module)."""


async def hand_back_while_disk_full(
    ports: Ports,
    request: Request,
    work_dir: Path,
    min_free_bytes: int,
    free_bytes: Callable[[Path], int],
) -> None:
    """Hand the request back, the status saying why, while the disk is nearly full."""
    if not min_free_bytes:
        return
    free = free_bytes(work_dir)
    if free >= min_free_bytes:
        return
    logger.warning("job %s: %d bytes free on disk; waiting for room", request.id, free)
    await ports.requests.release(request.id, refund=True)
    with use_locale(request.locale):
        text = texts.waiting_for_disk()
    await ports.statuses.open(request).finish(text)
    raise DeferJobError("waiting for free disk space")


async def hand_back_while_chat_held(ports: Ports, request: Request, longest_s: float) -> None:
    """Hand the request back while Telegram holds its chat back longer than `longest_s`."""
    held = await ports.senders.held_s(request.chat_telegram_id)
    if held <= longest_s:
        return
    logger.info(
        "job %s: chat %s is held back %.0f s by flood control; handing back",
        request.id,
        request.chat_telegram_id,
        held,
    )
    await ports.requests.release(request.id, refund=True)
    raise DeferJobError("the chat is held back by flood control")


async def hand_back_flooded(job: JobContext, exc: TelegramRetryAfter) -> None:
    """A flood wait too long to sit out met during the work: the status says so, the lease
    goes back, and `DeferJobError` brings the job back later; parts sent are kept."""
    request = job.request
    logger.warning(
        "job %s: flood control holds chat %s back %d s; handing the job back",
        request.id,
        request.chat_telegram_id,
        exc.retry_after,
    )
    wait = FloodWait(request.chat_telegram_id, exc.method.__api_method__, exc.retry_after, 0)
    job.status.on_flood_wait(wait)
    await job.requests.release(request.id, refund=True)
    raise DeferJobError("the chat is held back by flood control") from exc
