"""The session yt-dlp work runs in: its parameters, its guard, its thread, its cancel.

`YtdlSession` runs blocking yt-dlp work in a thread with cooperative cancellation
(`runner.run_watched`), watches the transfer (`transfer.TransferWatch`) and turns yt-dlp's
exceptions into the downloaders' own `DownloadError` hierarchy (`failures.translate_error`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from yt_dlp.networking.common import Request
from yt_dlp.networking.exceptions import IncompleteRead
from yt_dlp.utils import DownloadCancelled

from mediabot.domain.enums import Provider
from mediabot.domain.media import ProgressCallback
from mediabot.downloaders.errors import DownloadError, PrivateAddressError, StalledError
from mediabot.downloaders.failures import translate_error
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.guarded import GuardedYoutubeDL, precheck_url
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.runner import run_watched
from mediabot.downloaders.transfer import ProgressRelay, TransferWatch
from mediabot.net.addresses import GuardPolicy
from mediabot.net.proxy import GuardProxy, ProxySession

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _YtdlLogger:
    """Routes yt-dlp's console output into logging, at debug level except real problems."""

    def debug(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        logger.info("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        logger.info("yt-dlp error: %s", message)


def _deno_path() -> str | None:
    try:
        import deno  # only YouTube needs it; a missing runtime is logged, not fatal

        return str(deno.find_deno_bin())
    except (ImportError, FileNotFoundError):
        logger.warning("The deno JavaScript runtime was not found; YouTube may fail")
        return None


class YtdlSession:
    """Everything one probe or download shares: options, cookies, progress, cancellation,
    and its own session of the guard proxy (opened on first use, closed by `close()`).

    Blocking yt-dlp work goes through `run`, which keeps the event loop free and watches the
    transfer. When the awaiting task is cancelled, or the transfer stalls, `run` closes the
    session's proxy connections (a thread blocked in a socket read returns at once, an
    ffmpeg reading through the proxy fails), waits for the thread to end (so no ffmpeg it
    started outlives us), then raises.
    """

    def __init__(
        self,
        options: DownloadOptions,
        *,
        cookies_file: Path | None = None,
        extra_params: InfoDict | None = None,
        progress: ProgressCallback | None = None,
        provider: Provider | None = None,
        direct_origins: Iterable[str] = (),
    ) -> None:
        """`provider` chooses the site's proxy (`DownloadOptions.proxy_for`)."""
        self.options = options
        self._provider = provider
        self._cookies_file = cookies_file
        self._extra_params = dict(extra_params or {})
        self.cancelled = threading.Event()
        self.watch = TransferWatch(
            options.stall_timeout_s, options.min_transfer_kbps * 1000, options.min_transfer_window_s
        )
        self.progress = ProgressRelay(progress, self.cancelled, self.watch)
        self.tolerated_urls: set[str] = set()
        """URLs whose refusal by the guard costs nothing needed (thumbnails)."""
        self.direct_origins: frozenset[str] = frozenset(direct_origins)
        """The operator's services yt-dlp plugins reach directly (`GuardedYoutubeDL`)."""
        self._guard: ProxySession | None = None
        self._guard_lock = threading.Lock()
        self._stalled: str | None = None
        self.policy: GuardPolicy = options.guard_policy(provider)

    @property
    def guard(self) -> ProxySession:
        """This session's listener on the guard proxy."""
        with self._guard_lock:
            if self._guard is None:
                self._guard = GuardProxy.running().open_session(self.policy)
            return self._guard

    def precheck(self, url: str) -> None:
        """Refuse `url` now when that needs no DNS (scheme, private address literal)."""
        precheck_url(url, self.policy)

    def sibling(self) -> YtdlSession:
        """A session with the same options, site, cookies and parameters, and a guard
        session, cancellation and transfer watch of its own: work that may be abandoned
        on its own (an optional probe) without ending this session. Its progress is not
        reported. The caller closes it."""
        return YtdlSession(
            self.options,
            cookies_file=self._cookies_file,
            extra_params=self._extra_params,
            provider=self._provider,
            direct_origins=self.direct_origins,
        )

    def params(self, **overrides: Any) -> InfoDict:
        """yt-dlp parameters for this session; `overrides` win."""
        params: InfoDict = {
            "logger": _YtdlLogger(),
            "quiet": True,
            "no_warnings": False,
            "noprogress": True,
            "noplaylist": True,
            "extract_flat": "in_playlist",
            # later than the stall watchdog, which abandons the transfer with a plain reason
            "socket_timeout": self.options.stall_timeout_s + 5,
            "retries": 3,
            "fragment_retries": 3,
            # a fragment the guard refused (or that never came) is a broken file, not a gap
            "skip_unavailable_fragments": False,
            "hls_prefer_native": True,
            "overwrites": True,
            "color": {"stdout": "never", "stderr": "never"},
            "progress_hooks": [self.progress.download_hook],
            "postprocessor_hooks": [self.progress.postprocessor_hook],
        }
        deno = _deno_path()
        if deno is not None:
            params["js_runtimes"] = {"deno": {"path": deno}}
        if self._cookies_file is not None:
            params["cookiefile"] = str(self._cookies_file)
        params.update(self._extra_params)
        params.update(overrides)
        return params

    def open(self, **overrides: Any) -> GuardedYoutubeDL:
        """A fresh guarded YoutubeDL on this session's proxy; use it as a context manager."""
        return GuardedYoutubeDL(
            self.params(**overrides),
            allow_private=self.options.allow_private_urls,
            cancel=self.cancelled,
            guard=self.guard,
            tolerated_urls=self.tolerated_urls,
            direct_origins=self.direct_origins,
        )

    def fetch(
        self,
        ydl: GuardedYoutubeDL,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        on_headers: Callable[[dict[str, str]], None] | None = None,
        trust_length: bool = True,
    ) -> Iterator[bytes]:
        """Stream `url` through the guarded YoutubeDL (blocking), checking for cancellation.

        `headers` go with the request (a format's `http_headers`). With `trust_length`
        off, a body that ends before its announced Content-Length ends there instead of
        failing: the bytes that came are what the caller judges, not the server's claim.
        """
        response = ydl.urlopen(Request(url, headers=headers or {}))
        if not trust_length:
            _read_to_the_end(response)
        if on_headers is not None:
            on_headers(dict(response.headers))
        try:
            while True:
                try:
                    chunk = response.read(256 * 1024)
                except IncompleteRead:
                    if trust_length:
                        raise
                    break
                if not chunk:
                    break
                if self.cancelled.is_set():
                    raise DownloadCancelled()
                yield chunk
        finally:
            response.close()

    async def run(self, work: Callable[[], T], *, strict: bool = False) -> T:
        """Run blocking `work` in a thread; translate yt-dlp errors; cancel and watch.

        `strict`: a request the guard refused fails the work even when yt-dlp or ffmpeg
        went on without it (ffmpeg skips an HLS segment it cannot open), unless it was
        tolerated (a thumbnail). Raises `StalledError` when the transfer stalls.
        """
        guard = self.guard
        try:
            result = await run_watched(
                work,
                watch=self.watch,
                received_bytes=lambda: guard.received_bytes,
                on_stall=self._abandon_stalled,
                on_cancel=self._abort,
            )
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        if strict and guard.unforgiven_refusals:
            raise PrivateAddressError(detail=f"guard refused {guard.refusals}")
        return result

    def _abandon_stalled(self, reason: str) -> None:
        logger.warning("Abandoning a stalled transfer: %s", reason)
        self._stalled = reason
        self._abort()

    def _failure(self, exc: BaseException) -> BaseException:
        if self._stalled is not None:
            return StalledError(detail=self._stalled)
        guard = self._guard
        if guard is not None and guard.unforgiven_refusals:
            return PrivateAddressError(detail=f"guard refused {guard.refusals}")
        if isinstance(exc, DownloadError):
            return exc
        if not isinstance(exc, Exception):
            return exc
        if self.cancelled.is_set():
            return asyncio.CancelledError()
        return translate_error(exc)

    def _abort(self) -> None:
        self.cancelled.set()
        if self._guard is not None:
            self._guard.close()

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        """Close this session's proxy listener and every connection it still has."""
        with self._guard_lock:
            if self._guard is not None:
                self._guard.close()


def _read_to_the_end(response: Any) -> None:
    """Let `response` read until the connection ends whatever its Content-Length says.

    urllib3 (yt-dlp's requests handler) raises on a body shorter than announced unless
    told not to; urllib's handler already returns what came. Where neither applies,
    `fetch` ends at the `IncompleteRead`, losing only the bytes of that last read.
    """
    raw = getattr(response, "fp", None)
    if raw is not None and hasattr(raw, "enforce_content_length"):
        raw.enforce_content_length = False
