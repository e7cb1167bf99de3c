"""Step: record each part the moment Telegram accepts it; resume after the last one."""

from __future__ import annotations

import logging

from mediabot.domain.enums import RequestState
from mediabot.senders.base import PartCallback, ResumePoint, SentPart
from mediabot.worker.steps.context import JobContext

logger = logging.getLogger(__name__)


def recorder(job: JobContext) -> PartCallback:
    """Records each accepted part."""

    async def record(part: SentPart) -> None:
        await job.requests.add_part(job.request.id, part)

    return record


def part_recorder(job: JobContext) -> PartCallback:
    """Records each accepted part, and shows the next one uploading."""

    async def on_part(part: SentPart) -> None:
        await job.requests.add_part(job.request.id, part)
        if part.index + 1 < part.total:
            job.status.show_upload(part.index + 1, part.total)

    return on_part


async def resume_point(job: JobContext) -> ResumePoint | None:
    """Where an interrupted delivery goes on: after the last part Telegram accepted."""
    last = await job.requests.last_part(job.request.id)
    if last is None:
        return None
    index, end_s = last
    logger.info("job %s: resuming at part %s", job.request.id, index + 2)
    return ResumePoint(next_index=index + 1, start_s=end_s or 0.0)


async def finish_delivery(job: JobContext, parts: int) -> None:
    """The request is delivered: record it, take the status message away."""
    await job.move(RequestState.DELIVERED)
    logger.info("job %s: delivered in %s part(s)", job.request.id, parts)
    await job.status.remove()
