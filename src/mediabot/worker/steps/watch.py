"""Step beside the work: renew the lease; stop the work when the request leaves our hands."""

from __future__ import annotations

import asyncio
import logging

from mediabot.worker.steps.context import JobContext

logger = logging.getLogger(__name__)


async def watch(job: JobContext, work: asyncio.Task[None], every_s: float) -> bool:
    """Renew every `every_s`; `True` when it cancelled `work` (lease lost, user cancelled)."""
    while not work.done():
        await asyncio.sleep(every_s)
        ours = await job.requests.renew(job.request.id, job.status.progress)
        if job.ending:
            return False  # ended by the work itself, which is saying its last word
        if not ours:
            logger.info("job %s: lease lost or request ended; stopping", job.request.id)
            work.cancel()
            return True
    return False
