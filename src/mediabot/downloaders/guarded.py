"""A YoutubeDL whose every request the private-network guard judges first.

`GuardedYoutubeDL` checks every URL yt-dlp requests (pages, APIs, manifests, segments,
thumbnails) and every redirect hop against the guard before the request is sent; a refusal
is a `GuardRefusalError`, which yt-dlp does not retry elsewhere.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import DownloadCancelled

from mediabot.downloaders.errors import DownloadError, PrivateAddressError
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.requests_tuning import tuned_requests_handler
from mediabot.downloaders.safety import check_url
from mediabot.media.tools import guarded_tools_dir
from mediabot.net.addresses import GuardPolicy, parse_address
from mediabot.net.proxy import GuardProxy, ProxySession

logger = logging.getLogger(__name__)

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
            tuned_requests_handler(h) if getattr(h, "RH_KEY", None) == "Requests" else h
            for h in handlers
        ]
        return super().build_request_director(tuned, preferences)
