"""The downloader family: one class per provider, one public verb, `download()`.

`Downloader` is a template: it probes the link (guard, extraction, limits), picks the
`Execution` for what was asked (a video at a height, audio only, a post's photos), runs it
in a private work folder and moves the files into the caller's folder only on success.
What it builds on is one module a job: `site` (which links a class takes, how it names
their media, what its yt-dlp needs), `probing` (extraction and limits, the lookup),
`selection` (what was asked, and its execution), `locating` (the stream plan). Subclasses
override `site`'s class methods only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import tempfile
from pathlib import Path

from mediabot.domain.enums import DownloadPhase, MediaKind
from mediabot.domain.media import DownloadProgress, DownloadResult, MediaItem, ProgressCallback
from mediabot.downloaders import ffmpeg
from mediabot.downloaders.executions import Execution, PhotoExecution
from mediabot.downloaders.formats import InfoDict, title_of, uploader_of
from mediabot.downloaders.limits import DurationLimit
from mediabot.downloaders.locating import Locating

logger = logging.getLogger(__name__)


class Downloader(Locating):
    """Downloads one link: `Downloader(url, res)` then `await download(dest)`.

    `res` > 0 asks for a video at exactly that height; 0 asks for audio only (or, for a
    photo post or carousel, the post's media). `kind` may force `MediaKind.VIDEO` with
    `res=0` (the best height) or `MediaKind.PHOTO` (the post's media).

    "No resolution" is None everywhere in mediabot (database, offer, job, worker,
    `make_downloader`); the `res=0` of this constructor's seed-mandated shape is its one
    other spelling, and None given here is turned into 0 at once.
    """

    async def download(
        self, dest: Path, progress: ProgressCallback | None = None
    ) -> DownloadResult:
        """Download into `dest` and describe the files.

        Writes only inside `dest`. On failure or cancellation everything written there is
        removed and the exception (a `DownloadError`, or `asyncio.CancelledError`) re-raised.
        """
        session = self._session(self._options, progress)
        workdir = await asyncio.to_thread(_make_workdir, dest)
        moved: list[Path] = []
        try:
            session.progress.report(DownloadProgress(phase=DownloadPhase.PROBING))
            info = await self._info(session)
            execution = self._execution_for(info)
            logger.info(
                "Downloading %s as %s (res=%s)", self._url, type(execution).__name__, self._res
            )
            items = await execution.execute(session, info, workdir)
            items = await self._measured(items)
            items = [self._move(item, dest, moved) for item in items]
            result = self._result(info, items, execution)
            session.progress.report(
                DownloadProgress(
                    phase=DownloadPhase.FINISHED,
                    downloaded_bytes=result.size_bytes,
                    total_bytes=result.size_bytes,
                )
            )
            return result
        except BaseException:
            session.cancel()
            for path in moved:
                path.unlink(missing_ok=True)
            raise
        finally:
            session.close()
            shutil.rmtree(workdir, ignore_errors=True)

    async def _measured(self, items: list[MediaItem]) -> list[MediaItem]:
        """`items` with the durations ffprobe reads in their files, within the limit.

        What was downloaded is measured, not what the source declared: a source that lied
        about its length, or told none at lookup, is refused here (`TooLongError`) before
        anything is sent. Without a duration limit nothing is measured.
        """
        limit = DurationLimit.of(self._options)
        if limit is None:
            return items
        measured = []
        for item in items:
            if item.kind in (MediaKind.VIDEO, MediaKind.AUDIO):
                facts = await ffmpeg.probe(item.path)
                if facts.duration_s:
                    item = dataclasses.replace(item, duration_s=facts.duration_s)
            measured.append(item)
        limit(sum(item.duration_s or 0 for item in measured))
        return measured

    def _result(
        self, info: InfoDict, items: list[MediaItem], execution: Execution
    ) -> DownloadResult:
        kinds = {item.kind for item in items}
        if isinstance(execution, PhotoExecution):
            kind = MediaKind.PHOTO if kinds == {MediaKind.PHOTO} else MediaKind.VIDEO
        else:
            kind = execution.kind
        first = items[0]
        return DownloadResult(
            items=tuple(items),
            kind=kind,
            provider=self.provider,
            media_key=self._canonical_key(self._url, info),
            source_url=self._url,
            title=title_of(info),
            uploader=uploader_of(info),
            duration_s=first.duration_s if len(items) == 1 else None,
            width=first.width,
            height=first.height,
            thumbnail=first.thumbnail,
        )

    @staticmethod
    def _move(item: MediaItem, dest: Path, moved: list[Path]) -> MediaItem:
        path = _free_name(dest / item.path.name)
        shutil.move(item.path, path)
        moved.append(path)
        thumbnail = None
        if item.thumbnail is not None and item.thumbnail.is_file():
            thumbnail = _free_name(dest / item.thumbnail.name)
            shutil.move(item.thumbnail, thumbnail)
            moved.append(thumbnail)
        return dataclasses.replace(item, path=path, thumbnail=thumbnail)


def _make_workdir(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".download-", dir=dest))


def _free_name(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
    return candidate
