"""Watching a transfer: the stall and slow-rate rule, and yt-dlp's progress reports."""

from __future__ import annotations

import logging
import threading
from collections import deque

from yt_dlp.utils import DownloadCancelled

from mediabot.domain.enums import DownloadPhase
from mediabot.domain.media import DownloadProgress, ProgressCallback
from mediabot.downloaders.formats import InfoDict

logger = logging.getLogger(__name__)


class TransferWatch:
    """Judges a session's transfer from the bytes its guard proxy received.

    A transfer is stalled when no byte arrives for `stall_timeout_s`, or when fewer than
    `min_bytes_per_s` arrive on average over any `window_s` (0 turns the rate rule off).
    Work that moves no bytes by design (yt-dlp's post-processors: merging, converting)
    pauses the watch. Fed from the event loop by `YtdlSession.run`; paused and resumed
    from yt-dlp's thread (plain attribute writes).
    """

    def __init__(self, stall_timeout_s: float, min_bytes_per_s: float, window_s: float) -> None:
        self.stall_timeout_s = stall_timeout_s
        self.min_bytes_per_s = min_bytes_per_s
        self.window_s = window_s
        self.paused = False
        self._samples: deque[tuple[float, int]] = deque()
        self._idle_since: float | None = None
        self._last_bytes = -1

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def check(self, now: float, received_bytes: int) -> str | None:
        """Why the transfer should be abandoned, or None; call every fraction of a second."""
        if self.paused:
            self._samples.clear()
            self._idle_since = None
            return None
        if received_bytes != self._last_bytes or self._idle_since is None:
            self._last_bytes = received_bytes
            self._idle_since = now
        elif now - self._idle_since >= self.stall_timeout_s:
            return f"no byte received for {now - self._idle_since:.0f} s"
        self._samples.append((now, received_bytes))
        while len(self._samples) > 1 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        first_at, first_bytes = self._samples[0]
        if self.min_bytes_per_s > 0 and now - first_at >= self.window_s:
            rate = (received_bytes - first_bytes) / (now - first_at)
            if rate < self.min_bytes_per_s:
                return f"{rate / 1000:.1f} KB/s over {now - first_at:.0f} s"
        return None


class ProgressRelay:
    """Turns yt-dlp's per-file progress dicts into one running `DownloadProgress`."""

    def __init__(
        self, callback: ProgressCallback | None, cancel: threading.Event, watch: TransferWatch
    ) -> None:
        self._callback = callback
        self._cancel = cancel
        self._watch = watch
        self._files: dict[str, tuple[int, int | None]] = {}

    def report(self, progress: DownloadProgress) -> None:
        if self._callback is not None:
            try:
                self._callback(progress)
            except Exception:
                logger.exception("Progress callback failed")

    def download_hook(self, status: InfoDict) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled()
        name = str(status.get("filename") or status.get("tmpfilename") or "")
        done = int(status.get("downloaded_bytes") or 0)
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if status.get("status") == "finished":
            done = int(status.get("total_bytes") or done)
            total = total or done
        self._files[name] = (done, int(total) if total else None)
        totals = [size for _, size in self._files.values()]
        self.report(
            DownloadProgress(
                phase=DownloadPhase.DOWNLOADING,
                downloaded_bytes=sum(done for done, _ in self._files.values()),
                total_bytes=sum(size for size in totals if size) if all(totals) else None,
                speed_bps=status.get("speed"),
                eta_s=status.get("eta"),
            )
        )

    def postprocessor_hook(self, status: InfoDict) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled()
        if status.get("status") == "started":
            self._watch.pause()  # local work: no bytes are expected meanwhile
            done = sum(done for done, _ in self._files.values())
            self.report(DownloadProgress(phase=DownloadPhase.PROCESSING, downloaded_bytes=done))
        else:
            self._watch.resume()
