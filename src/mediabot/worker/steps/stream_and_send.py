"""Step: deliver a large file in parts cut straight from the source, no full download."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from mediabot import metrics
from mediabot.domain.enums import RequestState
from mediabot.domain.media import TITLE_MAX_CHARS
from mediabot.senders.base import DeliveryError
from mediabot.telegram import texts
from mediabot.worker.ports import Downloader, Senders
from mediabot.worker.request import Request
from mediabot.worker.steps.context import JobContext
from mediabot.worker.steps.record import finish_delivery, part_recorder, resume_point

logger = logging.getLogger(__name__)


def worth_streaming(request: Request, limit_bytes: int) -> bool:
    """Whether the offer's size estimate says the file needs parts anyway.

    Then cutting straight from the source while earlier parts upload saves the time and
    the disk of a full download; small files are simply downloaded. A playlist's item has
    no offer of its own (the playlist was offered, not each item): the source is asked,
    `stream_and_send` then streams only what turns out to need parts.
    """
    if request.offer is None:
        return request.playlist is not None
    estimate = request.offer.estimated_bytes(request.kind, request.resolution)
    return estimate is not None and estimate > limit_bytes


async def stream_and_send(
    job: JobContext, downloader: Downloader, senders: Senders, folder: Path, limit_bytes: int
) -> bool:
    """Deliver in parts cut straight from the source; `False` when it cannot be streamed.

    A stream that breaks midway (an expired link, the origin gone) returns `False` too:
    the download then resumes after the parts already delivered.
    """
    request = job.request
    plan = await downloader.locate_streams(folder)
    if plan is None or (plan.estimated_bytes is not None and plan.estimated_bytes <= limit_bytes):
        return False
    logger.info("job %s: streaming %s bytes in parts", request.id, plan.estimated_bytes)
    await job.move(
        RequestState.UPLOADING,
        title=texts.plain(plan.title or request.title, TITLE_MAX_CHARS) or None,
        duration_s=plan.duration_s,
        size_bytes=plan.estimated_bytes,
    )
    estimated_parts = (
        math.ceil(plan.estimated_bytes / limit_bytes) if plan.estimated_bytes else None
    )
    job.status.show_upload(request.delivered_parts, estimated_parts)
    sender = senders.stream(
        plan,
        job.target(plan.title),
        folder,
        part_recorder(job),
        await resume_point(job),
        request.form,
    )
    started = time.monotonic()
    try:
        sent = await sender.send()
    except DeliveryError as exc:
        logger.warning("job %s: streaming failed (%s); downloading instead", request.id, exc)
        await job.move(RequestState.DOWNLOADING)
        return False
    # the download is the whole stream (it overlaps the uploads); its bytes are the parts'
    provider = metrics.provider_of(request.media_key)
    metrics.DOWNLOAD_SECONDS.labels(provider).observe(time.monotonic() - started)
    metrics.DOWNLOAD_BYTES.labels(provider).observe(sum(part.size_bytes for part in sent))
    await finish_delivery(job, len(sent))
    return True
