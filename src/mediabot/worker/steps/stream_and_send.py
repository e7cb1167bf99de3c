"""Step: deliver straight from the source, no full download: one file streamed whole while
it is fetched, or parts cut while it arrives."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from mediabot import metrics
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.media import TITLE_MAX_CHARS, DownloadProgress, ProgressCallback
from mediabot.senders.base import DeliveryError
from mediabot.senders.streamed import may_fit
from mediabot.telegram import texts
from mediabot.worker.ports import Downloader, Senders
from mediabot.worker.request import Request
from mediabot.worker.steps.context import JobContext
from mediabot.worker.steps.record import finish_delivery, part_recorder, resume_point

logger = logging.getLogger(__name__)


def worth_streaming(request: Request) -> bool:
    """Whether the request is for a video or a sound, which the source may stream.

    A file that fits one upload goes up while it is fetched, a larger one in parts cut
    while it arrives: either saves the time (and the disk) of a full download. What the
    source's formats do not allow (`locate_streams` says None) is downloaded instead.
    """
    return request.kind in (MediaKind.VIDEO, MediaKind.AUDIO)


def _fetching_shown(job: JobContext) -> ProgressCallback:
    """The status of a file fetched while it goes up: the fetching as a download, then
    (all of it fetched, the rest going up) the upload."""

    def show(progress: DownloadProgress) -> None:
        total = progress.total_bytes
        if total and progress.downloaded_bytes >= total:
            job.status.show_upload(0, 1)
        else:
            job.status.on_download(progress)

    return show


async def stream_and_send(
    job: JobContext, downloader: Downloader, senders: Senders, folder: Path, limit_bytes: int
) -> bool:
    """Deliver in parts cut straight from the source; `False` when it cannot be streamed.

    A stream that breaks midway (an expired link, the origin gone) returns `False` too:
    the download then resumes after the parts already delivered.
    """
    request = job.request
    plan = await downloader.locate_streams(folder)
    if plan is None:
        return False
    resume = await resume_point(job)
    described = {
        "title": texts.plain(plan.title or request.title, TITLE_MAX_CHARS) or None,
        "duration_s": plan.duration_s,
        "size_bytes": plan.estimated_bytes,
    }
    whole = resume is None and may_fit(plan.estimated_bytes, limit_bytes)
    if whole:
        # one file, fetched while it goes up: downloading while it is fetched (what the
        # user waits for, shown by `progress`), uploading once it is all fetched
        logger.info("job %s: streaming %s bytes as one file", request.id, plan.estimated_bytes)
        await job.move(RequestState.DOWNLOADING, **described)
    else:
        logger.info("job %s: streaming %s bytes in parts", request.id, plan.estimated_bytes)
        await job.move(RequestState.UPLOADING, **described)
        estimated_parts = (
            math.ceil(plan.estimated_bytes / limit_bytes) if plan.estimated_bytes else None
        )
        job.status.show_upload(request.delivered_parts, estimated_parts)
    sender = senders.stream(
        plan,
        job.target(plan.title),
        folder,
        part_recorder(job),
        resume,
        request.form,
        progress=_fetching_shown(job),
        on_fetched=lambda: job.move(RequestState.UPLOADING),
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
