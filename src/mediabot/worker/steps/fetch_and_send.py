"""Step: fetch the media (streamed when large, else downloaded) and send it in parts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mediabot import metrics
from mediabot.domain.enums import RequestState
from mediabot.domain.media import TITLE_MAX_CHARS
from mediabot.telegram import texts
from mediabot.worker.ports import Downloaders, Senders
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

    Errors of the download (`DownloadError`) and of Telegram are the caller's to settle.
    """
    request = job.request
    downloader = fetching.downloaders(request.url, request.resolution, request.kind)
    folder = fetching.work_dir / str(request.id)
    folder.mkdir(parents=True, exist_ok=True)
    if worth_streaming(request, fetching.limit_bytes) and await stream_and_send(
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
