"""Step: send the Telegram file ids of an earlier delivery of the same media."""

from __future__ import annotations

import logging

from mediabot.domain.enums import RequestState
from mediabot.senders.base import SendTarget, StaleFileIdError
from mediabot.worker.ports import Senders
from mediabot.worker.steps.context import JobContext
from mediabot.worker.steps.record import recorder

logger = logging.getLogger(__name__)


async def resend_from_cache(job: JobContext, senders: Senders, target: SendTarget) -> bool:
    """`True` when delivered from the cache; `False` when there is no delivery that works.

    File ids Telegram no longer accepts are forgotten (the earlier delivery's parts and any
    this request got from them), so the request is fetched afresh and sent whole.
    """
    request = job.request
    hit = await job.requests.find_delivered(request)
    if hit is None:
        return False
    await job.move(RequestState.UPLOADING)
    try:
        await senders.cached(target, hit.parts, recorder(job), request.form).send()
    except StaleFileIdError:
        logger.warning("job %s: cached file ids of %s are stale; downloading", request.id, hit.id)
        await job.requests.drop_parts(hit.id, request.id)
        job.cache_went_stale = True
        return False
    logger.info("job %s: delivered from the cache of %s", request.id, hit.id)
    await job.move(RequestState.DELIVERED, size_bytes=hit.size_bytes, title=hit.title)
    await job.status.remove()
    return True
