"""Step: fetch the media (streamed when large, else downloaded) and send it in parts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mediabot import metrics
from mediabot.domain.enums import RequestState
from mediabot.domain.media import TITLE_MAX_CHARS
from mediabot.downloaders.errors import DownloadError
from mediabot.telegram import texts
from mediabot.worker.ports import Downloader, Downloaders, Senders
from mediabot.worker.steps.context import JobContext
from mediabot.worker.steps.record import finish_delivery, part_recorder, resume_point
from mediabot.worker.steps.stream_and_send import stream_and_send, worth_streaming

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fetching:
    """What fetching needs besides the job: builders, the work folder, the upload limit."""

    downloaders: Downloaders
    senders: Senders
    work_dir: Path
    limit_bytes: int


async def fetch_and_send(job: JobContext, fetching: Fetching) -> None:
    """Fetch into the request's work folder and deliver; the request ends delivered.

    What the offer's lookup found serves the fetch while it is fresh; when the fetch then
    fails (an address expired or refused), the link is looked up again, once. Errors of
    the download (`DownloadError`) and of Telegram are the caller's to settle.
    """
    request = job.request
    found = request.offer.found if request.offer is not None else None
    downloader = fetching.downloaders(request, found)
    try:
        await _fetch_and_send(job, fetching, downloader)
    except DownloadError as exc:
        if not downloader.reused_lookup:
            raise
        logger.info("job %s: the offer's addresses failed (%s); looking up again", request.id, exc)
        downloader = fetching.downloaders(request)
        await _fetch_and_send(job, fetching, downloader)


async def _fetch_and_send(job: JobContext, fetching: Fetching, downloader: Downloader) -> None:
    request = job.request
    folder = fetching.work_dir / str(request.id)
    folder.mkdir(parents=True, exist_ok=True)
    if worth_streaming(request) and await stream_and_send(
        job, downloader, fetching.senders, folder, fetching.limit_bytes
    ):
        return
    provider = metrics.provider_of(request.media_key)
    with metrics.DOWNLOAD_SECONDS.labels(provider).time():
        result = await downloader.download(folder, progress=job.status.on_download)
    metrics.DOWNLOAD_BYTES.labels(provider).observe(result.size_bytes)
    logger.info(
        "job %s: downloaded %s file(s), %s bytes", request.id, len(result.items), result.size_bytes
    )
    await job.move(
        RequestState.UPLOADING,
        title=texts.plain(result.title or request.title, TITLE_MAX_CHARS) or None,
        duration_s=result.duration_s,
        size_bytes=result.size_bytes,
    )
    target = job.target(result.title or "")
    resume = await resume_point(job)
    job.status.show_upload(resume.next_index if resume else 0, 1)
    sender = fetching.senders.fresh(result, target, part_recorder(job), resume, request.form)
    sent = await sender.send()
    await finish_delivery(job, len(sent))
