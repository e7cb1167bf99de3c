"""Step: a playlist item's own height, the best it has up to the one chosen for all.

A playlist is offered before its items are probed, so a video choice is a highest height
wanted. The item's heights are looked up once, the best fitting one recorded, and from then
on the item is an ordinary request for exactly that height (the cache, a retry, history).
"""

from __future__ import annotations

import dataclasses
import logging

from mediabot.domain.enums import MediaKind
from mediabot.domain.playlist import height_up_to
from mediabot.downloaders.errors import N_, NotFoundError
from mediabot.worker import texts
from mediabot.worker.ports import Downloaders
from mediabot.worker.steps.context import JobContext, LeftOurHandsError

logger = logging.getLogger(__name__)


async def settle_height(job: JobContext, downloaders: Downloaders) -> bool:
    """Settle a playlist video item's height; True when it changed (the cache is worth
    asking again). Nothing to do for other requests. A lookup's `DownloadError` (a private
    or removed item) is the caller's to settle: the item is skipped."""
    request = job.request
    if request.playlist is None or request.kind is not MediaKind.VIDEO:
        return False
    if request.resolution is None:
        return False
    job.status.show(texts.preparing())
    height = height_up_to(await downloaders.heights(request.url), request.resolution)
    if height is None:
        raise NotFoundError(N_("This media has no video."), detail="no height in a playlist item")
    if height == request.resolution:
        return False
    if not await job.requests.set_resolution(request.id, height):
        raise LeftOurHandsError
    logger.info("job %s: playlist item at %sp (up to %sp)", request.id, height, request.resolution)
    job.request = dataclasses.replace(request, resolution=height)
    return True
