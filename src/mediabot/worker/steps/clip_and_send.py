"""Step: cut the clip a request asks for out of its source and send it.

A clip's request is keyed by `domain.clips.media_key_of` (its own cache entry), so the
cache and twins see it apart from the whole video; this step makes the file. The clip is
cut from only the bytes it needs, straight from the streams the downloaders locate
(`media.clips.cutter.cut_clip`: DASH/HLS fragments in range, byte ranges of a progressive
file found through its index), without re-encoding: it starts at the keyframe at or before
the asked time. The streams are located from what the offer's lookup found while it is
fresh (`Offer.found`, as whole-file deliveries use it): a press neither extracts nor probes
the link again, so only the clip's bytes and their index are read; when those addresses
fail the link is looked up again, once. A source that cannot be read that way is
downloaded whole and the clip cut from the local file. `MAX_DURATION_MIN` applies to the
clip, not to the video. The clip is then sent like any downloaded file (in parts when
over the upload limit).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from mediabot import metrics
from mediabot.domain.clips import Clip, ClipRangeError, format_time
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.media import TITLE_MAX_CHARS, DownloadResult, MediaFacts, MediaItem
from mediabot.downloaders.errors import DownloadError, TooLongError
from mediabot.i18n import N_
from mediabot.media.clips.cutter import ClipFile, SourceReadError, cut_clip
from mediabot.media.clips.fetch import NoKeyframeError
from mediabot.media.parts import SplitError
from mediabot.media.probe import probe
from mediabot.media.sources import SplitSource
from mediabot.telegram import texts
from mediabot.worker.ports import Downloader
from mediabot.worker.steps.context import JobContext
from mediabot.worker.steps.fetch_and_send import Fetching
from mediabot.worker.steps.record import finish_delivery, part_recorder, resume_point

logger = logging.getLogger(__name__)

PAST_END = N_("This clip starts after the end of the video.")
NO_KEYFRAME = N_(
    "This video can't be cut at {start} without re-encoding: it has no keyframe in the "
    "{seconds} seconds before. Ask for another start time."
)


async def clip_and_send(job: JobContext, fetching: Fetching, clip: Clip) -> None:
    """Cut `clip` into the request's work folder and deliver it; the request ends delivered.

    Raises `DownloadError` for a clip that starts past the end of the video or where its
    picture has no keyframe near enough before, and the download's and Telegram's errors,
    for the caller to settle.
    """
    request = job.request
    folder = fetching.work_dir / str(request.id)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        facts, cut = await _cut(job, fetching, clip, folder)
    except ClipRangeError as exc:
        raise DownloadError(PAST_END, detail=str(exc)) from exc
    except NoKeyframeError as exc:
        start, seconds = format_time(exc.at_s), f"{exc.searched_s:g}"
        raise DownloadError(NO_KEYFRAME, detail=str(exc), start=start, seconds=seconds) from exc
    logger.info(
        "job %s: clip %s cut from %.2f s, %d bytes, %d fetched",
        request.id,
        clip.key,
        cut.start_s,
        cut.size_bytes,
        cut.fetched_bytes,
    )
    metrics.DOWNLOAD_BYTES.labels(metrics.provider_of(request.media_key)).observe(cut.fetched_bytes)
    info = await probe(cut.path)
    video = info.video
    title = request.title or facts.title
    result = DownloadResult(
        provider=facts.provider,
        media_key=request.media_key,
        source_url=request.url,
        title=title,
        uploader=facts.uploader,
        duration_s=info.duration_s,
        width=video.width if video else None,
        height=video.height if video else None,
        thumbnail=facts.thumbnail,
        kind=request.kind,
        items=(
            MediaItem(
                cut.path,
                request.kind,
                cut.size_bytes,
                duration_s=info.duration_s,
                width=video.width if video else None,
                height=video.height if video else None,
                thumbnail=facts.thumbnail,
            ),
        ),
    )
    await job.move(
        RequestState.UPLOADING,
        title=texts.plain(title, TITLE_MAX_CHARS) or None,
        duration_s=info.duration_s,
        size_bytes=cut.size_bytes,
    )
    resume = await resume_point(job)
    job.status.show_upload(resume.next_index if resume else 0, 1)
    sender = fetching.senders.fresh(
        result, job.target(title), part_recorder(job), resume, request.form
    )
    sent = await sender.send()
    await finish_delivery(job, len(sent))


async def _cut(
    job: JobContext, fetching: Fetching, clip: Clip, folder: Path
) -> tuple[MediaFacts, ClipFile]:
    """The clip cut from what the offer's lookup found while it is fresh (no second
    lookup: no extraction, no probe of the link); when its addresses fail, from a fresh
    lookup, once."""
    request = job.request
    found = request.offer.found if request.offer is not None else None
    downloader = fetching.downloaders.for_clip(request, found)
    try:
        return await _cut_with(job, fetching, downloader, clip, folder)
    except (TooLongError, ClipRangeError):
        raise  # the clip's own: a second lookup would tell the same
    except (DownloadError, SourceReadError) as exc:
        if not downloader.reused_lookup:
            raise
        logger.info("job %s: the offer's addresses failed (%s); looking up again", request.id, exc)
    downloader = fetching.downloaders.for_clip(request)
    return await _cut_with(job, fetching, downloader, clip, folder)


async def _cut_with(
    job: JobContext, fetching: Fetching, downloader: Downloader, clip: Clip, folder: Path
) -> tuple[MediaFacts, ClipFile]:
    """The clip cut from the streams `downloader` locates, else from the whole source
    downloaded. Raises `SourceReadError` when the located streams cannot be read and
    `downloader` used the offer's lookup (whose addresses then go stale together)."""
    plan = await downloader.locate_streams(folder)
    if plan is not None and plan.duration_s is not None:
        _check_length(fetching, clip, plan.duration_s)
    if plan is not None:
        try:
            return plan, await cut_clip(plan.source, clip, folder)
        except SourceReadError as exc:
            if downloader.reused_lookup:
                raise
            logger.info("job %s: clip not cut from the streams (%s)", job.request.id, exc)
        except SplitError as exc:
            logger.info("job %s: clip not cut from the streams (%s)", job.request.id, exc)
    whole_folder = folder / "whole"
    whole = await downloader.download(whole_folder, progress=job.status.on_download)
    if whole.duration_s is not None:
        _check_length(fetching, clip, whole.duration_s)
    inputs = tuple(
        item.path for item in whole.items if item.kind in (MediaKind.VIDEO, MediaKind.AUDIO)
    )
    source = SplitSource(inputs[:2], job.request.kind, duration_s=whole.duration_s)
    try:
        return whole, await cut_clip(source, clip, folder)
    finally:
        shutil.rmtree(whole_folder, ignore_errors=True)


def _check_length(fetching: Fetching, clip: Clip, video_s: float) -> None:
    """The duration limit applies to the clip, not to the video it is cut from."""
    if fetching.downloaders.clip_over_limit(clip.length_s(video_s)):
        raise TooLongError(detail=f"clip {clip.key} of {video_s:.0f} s")
