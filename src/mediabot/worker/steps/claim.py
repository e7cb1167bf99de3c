"""Step: take the lease on a request, or say why not (another worker, the user's share)."""

from __future__ import annotations

import logging
import uuid

from mediabot.queue.base import DeferJobError
from mediabot.worker.ports import RequestsStore
from mediabot.worker.request import Request

logger = logging.getLogger(__name__)


async def claim(
    requests: RequestsStore, request_id: uuid.UUID, *, fair: bool = True
) -> Request | None:
    """The request, now held by this worker; None when there is nothing to do.

    `fair`: the fairest request of all (fair turns), which may be another than `request_id`.
    Raises `DeferJobError` when the user already has their share of requests running.
    """
    outcome = await requests.claim(request_id, fair=fair)
    if outcome.waiting:
        logger.info("job %s: the user's other requests are running; waiting", request_id)
        raise DeferJobError("the user's other requests are running")
    if not outcome.claimed:
        logger.info("job %s: skipped, finished or held by another worker", request_id)
        return None
    if outcome.request is None:
        logger.error("job %s: no such request, or no choice made", request_id)
        await requests.release(outcome.taken or request_id)
        return None
    return outcome.request
