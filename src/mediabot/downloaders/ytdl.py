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
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.networking.common import Request
from yt_dlp.networking.exceptions import HTTPError, IncompleteRead, RequestError, TransportError
from yt_dlp.utils import DownloadCancelled, GeoRestrictedError, UnsupportedError

from mediabot.domain.enums import DownloadPhase, Provider
from mediabot.domain.media import DownloadProgress, ProgressCallback
from mediabot.downloaders.errors import (
    N_,
    DownloadError,
    GeoBlockedError,
    InstagramLoginError,
    InstagramRateLimitError,
    LiveStreamError,
    LoginRequiredError,
    NetworkError,
    NotFoundError,
    PrivateAddressError,
    PrivateOrRemovedError,
    SitePushBackError,
    StalledError,
    TooManyRedirectsError,
    UnavailableResolutionError,
    UnsupportedLinkError,
    YouTubeAgeRestrictedError,
    YouTubeBotCheckError,
    YouTubeMembersOnlyError,
)
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.safety import check_url
from mediabot.media.tools import guarded_tools_dir
from mediabot.net.addresses import GuardPolicy, parse_address
from mediabot.net.proxy import GuardProxy, ProxySession

logger = logging.getLogger(__name__)

T = TypeVar("T")

_NETWORK_FREE_SCHEMES = ("data:",)


class GuardRefusalError(RequestError):  # type: ignore[misc]
    """The guard refused a request; a yt-dlp `RequestError` so yt-dlp never retries elsewhere.

    yt-dlp's request director hands a request to the next handler when one fails with an
    unexpected exception, so a refusal must look like a request error to stop there.
    """

    def __init__(self, refusal: DownloadError) -> None:
        super().__init__(refusal.detail, cause=refusal)
        self.refusal = refusal


def origin_of(url: str) -> str:
    """`scheme://host:port` of `url` (the port spelled out), or "" when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return ""
    if not parts.hostname or port is None:
        return ""
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}:{port}"


def precheck_url(url: str, policy: GuardPolicy) -> None:
    """Refuse what can be refused without DNS: other schemes, and private address literals.

    Names are judged by the guard proxy when it connects (it resolves them once, and
    connects to the address it checked), so nothing is resolved here.
    """
    check_url(url, allow_private=True)
    host = urlsplit(url.strip()).hostname or ""
    address = parse_address(host)
    if address is not None and not policy.permits(address):
        raise PrivateAddressError(detail=f"{host} is the non-public address {address}")


MAX_REDIRECTS = 20
"""Redirects one request follows, as browsers do; one more is `TooManyRedirectsError`."""

_TLS_CONTEXTS: dict[tuple[Any, ...], Any] = {}
_TLS_CONTEXTS_LOCK = threading.Lock()
_TUNED_CLASSES: dict[type, type] = {}


def _tuned_requests_handler(handler: type) -> type:
    """yt-dlp's requests handler with one TLS context per configuration for the process,
    and `MAX_REDIRECTS` in place of requests' 30.

    yt-dlp builds a context (loading the whole CA bundle: ~15 ms) for every YoutubeDL, and
    a download uses two (the probe, then the fetch). This overrides the private
    `_make_sslcontext` and `_create_instance` hooks; when a yt-dlp release lacks one (or
    the attributes the TLS key is built from), that part is used as yt-dlp made it:
    slower, or with requests' own redirect limit, never wrong.
    """
    tuned = _TUNED_CLASSES.get(handler)
    if tuned is not None:
        return tuned
    overrides: dict[str, Any] = {}
    parent: Any = handler
    if callable(getattr(handler, "_make_sslcontext", None)):

        def _make_sslcontext(self: Any, legacy_ssl_support: Any = None) -> Any:
            make = functools.partial(parent._make_sslcontext, self)
            try:
                key = (
                    self.verify,
                    self.legacy_ssl_support if legacy_ssl_support is None else legacy_ssl_support,
                    self.prefer_system_certs,
                    tuple(sorted(self._client_cert.items())),
                )
            except (AttributeError, TypeError):
                return make(legacy_ssl_support)
            with _TLS_CONTEXTS_LOCK:
                context = _TLS_CONTEXTS.get(key)
                if context is None:
                    context = _TLS_CONTEXTS[key] = make(legacy_ssl_support)
            return context

        overrides["_make_sslcontext"] = _make_sslcontext
    if callable(getattr(handler, "_create_instance", None)):

        def _create_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
            session = parent._create_instance(self, *args, **kwargs)
            if hasattr(session, "max_redirects"):
                session.max_redirects = MAX_REDIRECTS
            return session

        overrides["_create_instance"] = _create_instance
    tuned = type(f"Tuned{handler.__name__}", (handler,), overrides) if overrides else handler
    _TUNED_CLASSES[handler] = tuned
    return tuned


def _fast_extractor_list_supported() -> bool:
    """Whether yt-dlp still marks disabled extractors with `_ENABLED` (the fast path's key)."""
    return hasattr(InfoExtractor, "_ENABLED")


class GuardedYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """A YoutubeDL whose every request goes through the guard proxy, with a cancel check.

    yt-dlp's public `proxy` parameter sends every request (each redirect hop is a new
    request) through `guard`; `ffmpeg_location` points at wrappers that keep ffmpeg on the
    proxy too. Without `guard`, the instance opens a session of its own and closes it
    with itself.
    """

    def __init__(
        self,
        params: InfoDict,
        *,
        allow_private: bool,
        cancel: threading.Event | None = None,
        url_check: Callable[[str], None] | None = None,
        guard: ProxySession | None = None,
        tolerated_urls: Iterable[str] = (),
        direct_origins: Iterable[str] = (),
    ) -> None:
        """`url_check(url)` raises `DownloadError` to refuse a URL before any request;
        default: scheme and address-literal checks (`precheck_url`). A refusal met by a
        request for one of `tolerated_urls` (thumbnails) fails that request only.
        `direct_origins` (`scheme://host:port`) are the operator's own services (a PO-token
        provider) that plugins ask with proxies off: not checked here, and never reachable
        through the guard proxy either."""
        self._owned_guard = guard is None
        self.guard = guard or GuardProxy.running().open_session(
            GuardPolicy(allow_private=allow_private)
        )
        self._cancel = cancel or threading.Event()
        self._url_check = url_check or functools.partial(precheck_url, policy=self.guard.policy)
        self._tolerated = frozenset(tolerated_urls)
        self._direct_origins = frozenset(direct_origins)
        params = {**params, "proxy": self.guard.url}
        tools = guarded_tools_dir()
        if tools is not None and not params.get("ffmpeg_location"):
            params["ffmpeg_location"] = str(tools)
        super().__init__(params)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._owned_guard:
                self.guard.close()

    def add_default_info_extractors(self) -> None:
        """yt-dlp's default extractors, in yt-dlp's order, without its quadratic de-duplication.

        yt-dlp resolves the `allowed_extractors` aliases with a list scan per name: ~35 ms per
        YoutubeDL for ~1,800 extractors, paid by every probe and every download. The default
        set is every enabled extractor class by lower-cased `IE_NAME` (a later class replacing
        an earlier one of the same name, in its place), which is what this builds directly.
        Any other `allowed_extractors`, or a yt-dlp without `_ENABLED`, goes through
        yt-dlp's own code.
        """
        if (
            self.params.get("allowed_extractors", ["default"]) != ["default"]
            or not _fast_extractor_list_supported()
        ):
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
        if url.startswith(_NETWORK_FREE_SCHEMES) or origin_of(url) in self._direct_origins:
            return super().urlopen(req)
        try:
            self._url_check(url)
        except DownloadError as exc:
            if url in self._tolerated:
                # yt-dlp skips a thumbnail that fails with a network error, and only then.
                raise TransportError(f"refused by the private-network guard: {url}") from exc
            raise GuardRefusalError(exc) from exc
        before = self.guard.refusal_count
        try:
            return super().urlopen(req)
        except (HTTPError, TransportError) as exc:
            refused = self.guard.refusal_count - before
            if refused <= 0:
                raise
            if url in self._tolerated:
                self.guard.forgive(refused)
                raise  # a network error yt-dlp skips (a thumbnail): never the whole download
            logger.warning("The guard refused %s or a redirect from it", url)
            refusal = PrivateAddressError(detail=f"guard refused {url}: {exc}")
            raise GuardRefusalError(refusal) from exc

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        tuned = [
            _tuned_requests_handler(h) if getattr(h, "RH_KEY", None) == "Requests" else h
            for h in handlers
        ]
        return super().build_request_director(tuned, preferences)


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


class _ProgressRelay:
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
        self.progress = _ProgressRelay(progress, self.cancelled, self.watch)
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
        loop = asyncio.get_running_loop()
        future: Future[T] = Future()

        def target() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

        guard = self.guard
        thread = threading.Thread(target=target, name="yt-dlp", daemon=True)
        thread.start()
        waiter = asyncio.wrap_future(future, loop=loop)
        tick = min(1.0, max(self.watch.stall_timeout_s / 5, 0.05))
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=tick)
                if done:
                    break
                reason = self.watch.check(time.monotonic(), guard.received_bytes)
                if reason is not None and self._stalled is None:
                    logger.warning("Abandoning a stalled transfer: %s", reason)
                    self._stalled = reason
                    self._abort()
            result = waiter.result()
        except asyncio.CancelledError:
            self._abort()
            await _wait_ignoring_cancellation(waiter)
            raise
        except BaseException as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        if strict and guard.unforgiven_refusals:
            raise PrivateAddressError(detail=f"guard refused {guard.refusals}")
        return result

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


_PUSH_BACKS: tuple[tuple[re.Pattern[str], type[SitePushBackError]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), error)
    for pattern, error in (
        # yt-dlp passes on YouTube's own reason (youtube/_video.py, the playability status)
        (r"confirm you.re not a bot", YouTubeBotCheckError),
        (
            r"\[youtube[^\]]*\].*(?:confirm your age|age-restricted|inappropriate for some users"
            r"|age.verification)",
            YouTubeAgeRestrictedError,
        ),
        (r"\[youtube[^\]]*\].*(?:members[- ]only|join this channel)", YouTubeMembersOnlyError),
        # instagram.py: a login redirect "You have exceeded the rate-limit for accessing
        # posts anonymously", or Instagram's HTTP 429
        (
            r"rate-limit for accessing posts"
            r"|\[instagram[^\]]*\].*(?:http error 429|too many requests)",
            InstagramRateLimitError,
        ),
        # instagram.py: raise_login_required(...) and the login page in place of the post
        (
            r"\[instagram[^\]]*\].*(?:locked behind the login page|registered users"
            r"|restricted video|need to log in|login required|redirected to the login page"
            r"|empty media response"
            r"|use --cookies)",
            InstagramLoginError,
        ),
    )
)
"""Refusals of the bot itself, from yt-dlp's YouTube and Instagram extractors' real texts."""

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
            N_("This media is age-restricted and needs a signed-in account."),
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
    for push_back, push_back_error in _PUSH_BACKS:
        if push_back.search(detail):
            return push_back_error(detail=detail)
    for link in chain:
        if isinstance(link, GeoRestrictedError):
            return GeoBlockedError(detail=detail)
        if isinstance(link, UnsupportedError):
            return UnsupportedLinkError(detail=detail)
        if isinstance(link, HTTPError):
            if link.redirect_loop:  # past the HTTP client's limit (requests: 30 hops)
                return TooManyRedirectsError(detail=detail)
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
