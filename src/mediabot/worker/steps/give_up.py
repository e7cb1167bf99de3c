"""Step: the endings that are not a delivery: failed, chat unreachable, out of attempts."""

from __future__ import annotations

import logging
import uuid

from mediabot.domain.enums import RequestState
from mediabot.i18n import use_locale
from mediabot.worker import texts
from mediabot.worker.ports import RequestsStore, Statuses
from mediabot.worker.steps.context import JobContext

logger = logging.getLogger(__name__)


async def fail(job: JobContext, reason: str, *, detail: str | None = None) -> None:
    """End the request as failed and tell the user `reason` (`detail` is recorded too).

    `LeftOurHandsError` when it was cancelled meanwhile: "Cancelled." is the last word then.
    """
    await job.move(RequestState.FAILED, error_reason=f"{reason} ({detail})" if detail else reason)
    await job.status.finish(texts.failed(reason), ended=True)


async def end_chat(job: JobContext, detail: str) -> None:
    """Telegram no longer lets the bot write to this chat: mark it, end its requests.

    Nothing is said (nobody would read it). The block is lifted when the chat writes to
    the bot again (`ChatRepository.upsert`).

    An inline request's chat is the storage chat, shared by every user of inline mode: its
    refusal is the operator's to fix, not a user gone. Only this request fails, in its own
    inline message; the others each try in turn and say so in theirs, or go through once
    the storage chat takes the bot again.
    """
    if job.request.inline_message_id is not None:
        logger.warning("job %s: the storage chat refused the bot: %s", job.request.id, detail)
        await fail(job, texts.sorry(), detail=f"storage chat unreachable: {detail}")
        return
    job.ending = True
    ended = await job.requests.end_chat(job.request.chat_id, f"chat unreachable: {detail}")
    logger.info(
        "job %s: ended %d pending request(s) of chat %s", job.request.id, ended, job.request.chat_id
    )


async def give_up(
    requests: RequestsStore, statuses: Statuses, request_id: uuid.UUID, reason: str
) -> None:
    """A job out of attempts: the request fails with `reason` and the user is told.

    Nothing is said when the request had already ended, or its chat is unreachable.
    """
    request = await requests.give_up(request_id, reason)
    if request is not None and not request.chat_blocked:
        with use_locale(request.locale):
            text = texts.failed(texts.sorry())
        await statuses.open(request).finish(text, ended=True)
