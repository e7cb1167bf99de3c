"""Requests to a media origin, each URL checked by the private-network guard first.

Every request for remote media (a remote file's byte ranges, a playlist, a fragment, a key)
is made by `open_checked`: redirects are followed by hand, each target passing `url_check`
before it is requested, and when the check names the guard proxy (`ProxiedUrlCheck`) the
request goes through it, so the address connected to is the address the guard checked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import urljoin

import aiohttp

from mediabot.media.probe import without_query
from mediabot.net.proxy import REFUSAL_HEADER, client_arguments

logger = logging.getLogger(__name__)

UrlCheck = Callable[[str], None]
"""Raises to refuse a URL before any request is made to it (blocking: it may resolve DNS)."""

_DEFAULT_STALL_S = 60.0
_CONNECT_TIMEOUT_S = 30
_MAX_REDIRECTS = 5


@runtime_checkable
class ProxiedUrlCheck(Protocol):
    """A `UrlCheck` that also names the guard proxy to read through, and a stall limit."""

    @property
    def proxy_url(self) -> str: ...

    @property
    def stall_timeout_s(self) -> float: ...

    def __call__(self, url: str) -> None: ...


class RemoteReadError(Exception):
    """The origin cannot be read as asked (refused, unreachable, HTTP errors, no ranges)."""


def route(
    url_check: UrlCheck | None, proxy: str | None = None, stall_timeout_s: float | None = None
) -> tuple[str | None, float]:
    """The proxy requests go through and the stall limit of a read: those given, else the
    ones `url_check` names, else no proxy and 60 s."""
    if isinstance(url_check, ProxiedUrlCheck):
        proxy = proxy or url_check.proxy_url
        stall_timeout_s = stall_timeout_s or url_check.stall_timeout_s
    return proxy, stall_timeout_s or _DEFAULT_STALL_S


def client_session(
    stall_timeout_s: float, connector: aiohttp.BaseConnector | None = None
) -> aiohttp.ClientSession:
    """A session for reading media: no overall deadline (a long file takes long), a read
    that receives nothing for `stall_timeout_s` fails, bodies are left as sent."""
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=_CONNECT_TIMEOUT_S, sock_read=stall_timeout_s
    )
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)


def identity(headers: Mapping[str, str], **extra: str) -> dict[str, str]:
    """`headers` (and `extra`) asking for the bytes as stored: byte ranges and lengths
    then count the file's own bytes, not a compressed body's."""
    return {**headers, **extra, "Accept-Encoding": "identity"}


async def open_checked(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    *,
    url_check: UrlCheck | None,
    proxy: str | None,
) -> aiohttp.ClientResponse:
    """A GET of `url` through `proxy`, following redirects by hand, each target passing
    `url_check` before it is requested. Raises `RemoteReadError` for a refusal (by the
    check or the guard proxy), an unreachable origin or too many redirects; the caller
    judges the status and releases the response.
    """
    target = url
    for _ in range(_MAX_REDIRECTS + 1):
        if url_check is not None:
            try:
                await asyncio.to_thread(url_check, target)
            except Exception as exc:
                logger.warning("Refused remote input %s: %s", without_query(target), exc)
                raise RemoteReadError(f"refused {without_query(target)}: {exc}") from exc
        try:
            response = await session.get(
                target, allow_redirects=False, **client_arguments(proxy, target, headers)
            )
        except aiohttp.ClientHttpProxyError as exc:
            if exc.status == 403:  # the guard proxy refused the CONNECT
                raise RemoteReadError(f"refused {without_query(target)}: {exc}") from exc
            raise RemoteReadError(f"cannot reach {without_query(target)}: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RemoteReadError(f"cannot reach {without_query(target)}: {exc}") from exc
        if response.headers.get(REFUSAL_HEADER):
            response.release()
            logger.warning("The guard proxy refused remote input %s", without_query(target))
            raise RemoteReadError(f"refused {without_query(target)} (private-network guard)")
        if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
            following = urljoin(target, response.headers["Location"])
            response.release()
            logger.debug(
                "Following redirect of %s to %s", without_query(target), without_query(following)
            )
            target = following
            continue
        return response
    raise RemoteReadError(f"too many redirects from {without_query(url)}")


class GuardedClient:
    """Reads one source's URLs with its `headers`, every request made by `open_checked`
    under its `url_check` (through the guard proxy the check names); `close()` after."""

    def __init__(self, headers: Mapping[str, str], url_check: UrlCheck | None) -> None:
        self._headers = headers
        self._url_check = url_check
        self._proxy, self._stall_timeout_s = route(url_check)
        self._session: aiohttp.ClientSession | None = None
        self.fetched_bytes = 0
        """Bytes read from the origin so far."""

    def open(self) -> None:
        if self._session is None:
            self._session = client_session(self._stall_timeout_s)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, url: str, headers: Mapping[str, str]) -> aiohttp.ClientResponse:
        """`open_checked` of `url` in this client's session (opened when it is not); the
        caller judges the status and releases the response."""
        self.open()
        assert self._session is not None
        return await open_checked(
            self._session, url, headers, url_check=self._url_check, proxy=self._proxy
        )
