"""Step beside the work: renew the lease; stop the work when the request leaves our hands."""

from __future__ import annotations

import asyncio
import logging

from mediabot.worker.steps.context import JobContext

logger = logging.getLogger(__name__)


async def watch(job: JobContext, work: asyncio.Task[None], every_s: float) -> bool:
    """Renew every `every_s`; `True` when it cancelled `work` (lease lost, user cancelled).

    A renewal that fails (the database away for longer than the store waits) is not a lost
    lease: the work goes on, and the next renewal tries again.
    """
    while not work.done():
        await asyncio.sleep(every_s)
        try:
            ours = await job.requests.renew(job.request.id, job.status.progress)
        except Exception:
            logger.exception("job %s: the lease was not renewed; trying again", job.request.id)
            continue
        if job.ending:
            return False  # ended by the work itself, which is saying its last word
        if not ours:
            logger.info("job %s: lease lost or request ended; stopping", job.request.id)
            work.cancel()
            return True
    return False
