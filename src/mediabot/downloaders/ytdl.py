"""The one place that talks to yt-dlp: a guarded YoutubeDL, its session, and error translation.

`GuardedYoutubeDL` checks every URL yt-dlp requests (pages, APIs, manifests, segments,
thumbnails) and every redirect hop against the private-network guard before the request is
sent. `YtdlSession` runs blocking yt-dlp work in a thread with cooperative cancellation and
turns yt-dlp's exceptions into the downloaders' own `DownloadError` hierarchy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.networking._requests import RequestsRH
from yt_dlp.networking._urllib import UrllibRH
from yt_dlp.networking.common import Request
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import DownloadCancelled, GeoRestrictedError, UnsupportedError

from mediabot.domain.enums import DownloadPhase
from mediabot.domain.media import DownloadProgress, ProgressCallback
from mediabot.downloaders.errors import (
    DownloadError,
    GeoBlockedError,
    LiveStreamError,
    LoginRequiredError,
    NetworkError,
    NotFoundError,
    PrivateOrRemovedError,
    UnavailableResolutionError,
    UnsupportedLinkError,
)
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.safety import check_url

logger = logging.getLogger(__name__)

T = TypeVar("T")
InfoDict = dict[str, Any]

_NETWORK_FREE_SCHEMES = ("data:",)


class GuardRefusalError(RequestError):  # type: ignore[misc]
    """The guard refused a request; a yt-dlp `RequestError` so yt-dlp never retries elsewhere.

    yt-dlp's request director hands a request to the next handler when one fails with an
    unexpected exception, so a refusal must look like a request error to stop there.
    """

    def __init__(self, refusal: DownloadError) -> None:
        super().__init__(refusal.detail, cause=refusal)
        self.refusal = refusal


_TLS_CONTEXTS: dict[tuple[Any, ...], Any] = {}
_TLS_CONTEXTS_LOCK = threading.Lock()


class _SharedTLSRequestsRH(RequestsRH):  # type: ignore[misc]
    """yt-dlp's requests handler with one TLS context per configuration for the process.

    yt-dlp builds a context (loading the whole CA bundle: ~15 ms) for every YoutubeDL, and
    a download uses two (the probe, then the fetch with its own formats and files). A
    context is made to be shared by connections; the key holds everything it is built from.
    """

    def _make_sslcontext(self, legacy_ssl_support: Any = None) -> Any:
        key = (
            self.verify,
            self.legacy_ssl_support if legacy_ssl_support is None else legacy_ssl_support,
            self.prefer_system_certs,
            tuple(sorted(self._client_cert.items())),
        )
        with _TLS_CONTEXTS_LOCK:
            context = _TLS_CONTEXTS.get(key)
            if context is None:
                context = _TLS_CONTEXTS[key] = super()._make_sslcontext(legacy_ssl_support)
        return context


class _GuardedRequestsRH(_SharedTLSRequestsRH):
    """yt-dlp's requests handler with every redirect hop checked before it is followed."""

    redirect_check: Callable[[str, str], None] | None = None

    def _create_instance(self, cookiejar: Any, legacy_ssl_support: Any = None) -> Any:
        session = super()._create_instance(cookiejar, legacy_ssl_support)
        session.hooks["response"].append(self._check_hop)
        return session

    def _check_hop(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        # requests calls response hooks for each hop before it follows the Location header.
        if response.is_redirect and self.redirect_check is not None:
            self.redirect_check(response.url, response.headers["location"])
        return response


class _OfflineUrllibRH(UrllibRH):  # type: ignore[misc]
    """urllib handler kept for `data:` URLs only: its redirects cannot be hooked."""

    _SUPPORTED_URL_SCHEMES = ("data",)


class GuardedYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """A YoutubeDL whose every request passes the private-network guard and a cancel check."""

    def __init__(
        self,
        params: InfoDict,
        *,
        allow_private: bool,
        cancel: threading.Event | None = None,
        url_check: Callable[[str], None] | None = None,
    ) -> None:
        """`url_check(url)` raises `DownloadError` to refuse a URL; default: `check_url`."""
        self._allow_private = allow_private
        self._cancel = cancel or threading.Event()
        self._url_check = url_check or functools.partial(check_url, allow_private=allow_private)
        super().__init__(params)

    def add_default_info_extractors(self) -> None:
        """yt-dlp's default extractors, in yt-dlp's order, without its quadratic de-duplication.

        yt-dlp resolves the `allowed_extractors` aliases with a list scan per name: ~35 ms per
        YoutubeDL for ~1,800 extractors, paid by every probe and every download. The default
        set is every enabled extractor class by lower-cased `IE_NAME` (a later class replacing
        an earlier one of the same name, in its place), which is what this builds directly.
        Any other `allowed_extractors` goes through yt-dlp's own code.
        """
        if self.params.get("allowed_extractors", ["default"]) != ["default"]:
            super().add_default_info_extractors()
            return
        by_name = {ie.IE_NAME.lower(): ie for ie in gen_extractor_classes()}
        enabled = [ie for ie in by_name.values() if ie._ENABLED]
        for ie in enabled:
            self.add_info_extractor(ie)
        self.write_debug(f"Loaded {len(enabled)} extractors")

    def urlopen(self, req: Any) -> Any:
        if self._cancel.is_set():
            raise DownloadCancelled()
        url = req if isinstance(req, str) else req.url
        if not url.startswith(_NETWORK_FREE_SCHEMES):
            try:
                self._url_check(url)
            except DownloadError as exc:
                raise GuardRefusalError(exc) from exc
        return super().urlopen(req)

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        if self._allow_private:
            shared = [_SharedTLSRequestsRH if h is RequestsRH else h for h in handlers]
            return super().build_request_director(shared, preferences)
        # Only handlers whose redirects we can check: curl_cffi and websockets follow or open
        # connections we cannot see, so they are left out while the guard is on.
        director = super().build_request_director(
            [_GuardedRequestsRH, _OfflineUrllibRH], preferences
        )
        for handler in director.handlers.values():
            if isinstance(handler, _GuardedRequestsRH):
                handler.redirect_check = self._check_redirect
        return director

    def _check_redirect(self, current_url: str, location: str) -> None:
        try:
            self._url_check(urljoin(current_url, location))
        except DownloadError as exc:
            logger.warning("Refused redirect from %s to %s", current_url, location)
            raise GuardRefusalError(exc) from exc


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


class _ProgressRelay:
    """Turns yt-dlp's per-file progress dicts into one running `DownloadProgress`."""

    def __init__(self, callback: ProgressCallback | None, cancel: threading.Event) -> None:
        self._callback = callback
        self._cancel = cancel
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
            done = sum(done for done, _ in self._files.values())
            self.report(DownloadProgress(phase=DownloadPhase.PROCESSING, downloaded_bytes=done))


class YtdlSession:
    """Everything one probe or download shares: options, cookies, progress and cancellation.

    Blocking yt-dlp work goes through `run`, which keeps the event loop free; when the
    awaiting task is cancelled, `run` raises yt-dlp out of its next request or progress
    hook, waits for the thread to end (so no ffmpeg it started outlives us), then re-raises.
    """

    def __init__(
        self,
        options: DownloadOptions,
        *,
        cookies_file: Path | None = None,
        extra_params: InfoDict | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.options = options
        self._cookies_file = cookies_file
        self._extra_params = dict(extra_params or {})
        self.cancelled = threading.Event()
        self.progress = _ProgressRelay(progress, self.cancelled)

    def params(self, **overrides: Any) -> InfoDict:
        """yt-dlp parameters for this session; `overrides` win."""
        params: InfoDict = {
            "logger": _YtdlLogger(),
            "quiet": True,
            "no_warnings": False,
            "noprogress": True,
            "noplaylist": True,
            "extract_flat": "in_playlist",
            "socket_timeout": 30,
            "retries": 3,
            "fragment_retries": 3,
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
        """A fresh guarded YoutubeDL; use it as a context manager."""
        return GuardedYoutubeDL(
            self.params(**overrides),
            allow_private=self.options.allow_private_urls,
            cancel=self.cancelled,
        )

    def fetch(
        self,
        ydl: GuardedYoutubeDL,
        url: str,
        *,
        on_headers: Callable[[dict[str, str]], None] | None = None,
    ) -> Iterator[bytes]:
        """Stream `url` through the guarded YoutubeDL (blocking), checking for cancellation."""
        response = ydl.urlopen(Request(url))
        if on_headers is not None:
            on_headers(dict(response.headers))
        try:
            while chunk := response.read(256 * 1024):
                if self.cancelled.is_set():
                    raise DownloadCancelled()
                yield chunk
        finally:
            response.close()

    async def run(self, work: Callable[[], T]) -> T:
        """Run blocking `work` in a thread; translate yt-dlp errors; cancel cooperatively."""
        loop = asyncio.get_running_loop()
        future: Future[T] = Future()

        def target() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

        thread = threading.Thread(target=target, name="yt-dlp", daemon=True)
        thread.start()
        waiter = asyncio.wrap_future(future, loop=loop)
        try:
            return await asyncio.shield(waiter)
        except asyncio.CancelledError:
            self.cancelled.set()
            await _wait_ignoring_cancellation(waiter)
            raise
        except DownloadError:
            raise
        except Exception as exc:
            if self.cancelled.is_set():
                raise asyncio.CancelledError() from exc
            raise translate_error(exc) from exc

    def cancel(self) -> None:
        self.cancelled.set()


async def _wait_ignoring_cancellation(waiter: asyncio.Future[Any]) -> None:
    # The thread must be gone before the caller deletes its files; a second cancel of the
    # awaiting task does not shorten that wait.
    while not waiter.done():
        try:
            await asyncio.wait({waiter})
        except asyncio.CancelledError:
            continue
    if not waiter.cancelled():
        waiter.exception()


_PATTERNS: tuple[tuple[re.Pattern[str], type[DownloadError], str | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), error, message)
    for pattern, error, message in (
        (r"unsupported url|no suitable extractor|is not a valid url", UnsupportedLinkError, None),
        (
            r"live event will begin|premieres? in|is a live|is live|live stream",
            LiveStreamError,
            None,
        ),
        (
            r"confirm your age|age.restricted|inappropriate for some users",
            LoginRequiredError,
            "This media is age-restricted and needs a signed-in account.",
        ),
        (
            r"available in your country|geo.?restrict|from your location|"
            r"blocked it in your country",
            GeoBlockedError,
            None,
        ),
        (
            r"private video|this video is private|video unavailable|has been removed|"
            r"no longer available|has been terminated|been deleted|content isn.t available|"
            r"post is unavailable|not available anymore",
            PrivateOrRemovedError,
            None,
        ),
        (
            r"sign in|log ?in|login required|use --cookies|registered users|members.only|"
            r"rate.limit",
            LoginRequiredError,
            None,
        ),
        (r"requested format is not available", UnavailableResolutionError, None),
        (
            r"http error 40[34]|http error 410|404: not found|no video formats found|"
            r"there is no video in this post|no media found",
            NotFoundError,
            None,
        ),
        (
            r"timed out|connection (?:refused|reset|aborted)|temporary failure|unreachable|"
            r"http error 5\d\d|http error 429|remote end closed|incomplete ?read|ssl|"
            r"unable to download|name resolution",
            NetworkError,
            None,
        ),
    )
)


def translate_error(exc: BaseException) -> DownloadError:
    """The `DownloadError` a person should see for a yt-dlp (or guard) failure."""
    chain = list(_causes(exc))
    for link in chain:
        if isinstance(link, DownloadError):
            return link
        if isinstance(link, GuardRefusalError):
            return link.refusal
    detail = " <- ".join(str(link) for link in chain if str(link))[:2000]
    for link in chain:
        if isinstance(link, GeoRestrictedError):
            return GeoBlockedError(detail=detail)
        if isinstance(link, UnsupportedError):
            return UnsupportedLinkError(detail=detail)
        if isinstance(link, HTTPError):
            if link.status in (404, 410):
                return NotFoundError(detail=detail)
            if link.status == 429 or link.status >= 500:
                return NetworkError(detail=detail)
    for pattern, error, message in _PATTERNS:
        if pattern.search(detail):
            return error(message, detail=detail)
    if any(isinstance(link, TransportError | OSError) for link in chain):
        return NetworkError(detail=detail)
    return DownloadError(detail=detail)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [
            getattr(current, "exc_info", None) and current.exc_info[1],  # type: ignore[attr-defined]
            getattr(current, "cause", None),
            current.__cause__,
            current.__context__,
        ]
        pending.extend(link for link in nested if isinstance(link, BaseException))
