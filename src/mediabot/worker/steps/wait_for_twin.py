"""Step: wait while another worker fetches this same media, so one download serves all."""

from __future__ import annotations

import asyncio
import logging

from mediabot.worker import texts
from mediabot.worker.steps.context import JobContext

logger = logging.getLogger(__name__)

TWIN_POLL_S = 1.0
TWIN_WAIT_S = 30 * 60.0


async def wait_for_twin(
    job: JobContext,
    *,
    poll_s: float = TWIN_POLL_S,
    wait_s: float = TWIN_WAIT_S,
    ordered: bool = True,
) -> bool:
    """Wait while a twin fetches; `True` if there was one (the cache is worth a new look).

    The twin whose fetch started first goes on, the others wait (no two wait for each
    other); if it fails, the next one goes on alone. After `wait_s` this one goes on too.
    Not `ordered`: waits for any twin being fetched (this one will not fetch meanwhile).
    """
    waited = 0.0
    while waited < wait_s:
        if not await job.requests.being_fetched(job.request.id, ordered=ordered):
            return waited > 0
        if waited == 0:
            logger.info("job %s: the same media is being fetched; waiting for it", job.request.id)
            job.status.show(texts.fetching())
        await asyncio.sleep(poll_s)
        waited += poll_s
    return True
