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

    One file takes the status message's place where it may (`Status.message_for_file`):
    that message, the offer's keyboard, is edited into the file, so nothing is sent and
    nothing deleted; otherwise the file is sent and the status message removed.

    File ids Telegram no longer accepts are forgotten (the earlier delivery's parts and any
    this request got from them), so the request is fetched afresh and sent whole.
    """
    request = job.request
    hit = await job.requests.find_delivered(request)
    if hit is None:
        return False
    await job.move(RequestState.UPLOADING)
    into = job.status.message_for_file
    try:
        sent = await senders.cached(target, hit.parts, recorder(job), request.form, into).send()
    except StaleFileIdError:
        logger.warning("job %s: cached file ids of %s are stale; downloading", request.id, hit.id)
        await job.requests.drop_parts(hit.id, request.id)
        job.cache_went_stale = True
        return False
    await job.move(RequestState.DELIVERED, size_bytes=hit.size_bytes, title=hit.title)
    in_place = into is not None and any(part.message_id == into for part in sent)
    if in_place:
        await job.status.close()  # the status message is the file now
    else:
        await job.status.remove()
    logger.info(
        "job %s: delivered from the cache of %s, %s",
        request.id,
        hit.id,
        "in its status message" if in_place else "as a new message",
    )
    return True
