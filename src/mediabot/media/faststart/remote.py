"""Byte ranges of remote resources, each request through the private-network guard.

`HttpRanges` serves the index reading (small reads: headers, a `moov`, `moof`s) and the
sample fetching (`stream`: a bounded range read in order). Every request goes through
`open_checked`, which checks each URL and redirect and routes through the guard proxy the
source's check names. A refused or expired address (403, 404, 410) is `ExpiredError`, which
the caller answers by looking the link up again; other failures are `RemoteReadError`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator, Mapping

import aiohttp

from mediabot.domain.retry import Backoff
from mediabot.media.probe import without_query
from mediabot.media.remote.http import GuardedClient, RemoteReadError, UrlCheck, identity

logger = logging.getLogger(__name__)

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_READ_BYTES = 256 * 1024
_RETRY = Backoff(base_delay_s=0.0, max_delay_s=0.0, max_attempts=3)
_EXPIRED = frozenset({401, 403, 404, 410})


class ExpiredError(RemoteReadError):
    """The origin refuses an address it gave (expired, revoked): look the link up again."""


class HttpRanges(GuardedClient):
    """Byte ranges of numbered URLs (`add` numbers them), read with `headers`, each URL
    passing `url_check`; `close()` after."""

    def __init__(self, headers: Mapping[str, str], url_check: UrlCheck | None) -> None:
        super().__init__(headers, url_check)
        self._urls: list[str] = []
        self._sizes: dict[int, int] = {}
        self._readers: list[asyncio.Task[None]] = []

    def attach(self, reader: asyncio.Task[None]) -> None:
        """A task reading through these ranges in the background: `close()` stops it."""
        self._readers.append(reader)

    async def close(self) -> None:
        """Stop the attached readers, then close the session."""
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._readers.clear()
        await super().close()

    def add(self, url: str) -> int:
        """A number for `url`, the next one."""
        self._urls.append(url)
        return len(self._urls) - 1

    def size(self, resource: int) -> int | None:
        return self._sizes.get(resource)

    async def read(self, resource: int, offset: int, count: int) -> bytes:
        """Bytes `offset` to `offset + count` of resource `resource` (fewer at its end)."""
        data = bytearray()
        async for chunk in self.stream(resource, offset, count):
            data += chunk
        return bytes(data)

    async def stream(self, resource: int, offset: int, count: int) -> AsyncIterator[bytes]:
        """The bytes of a range as they arrive; a broken read is opened again where it
        broke, three tries in all."""
        position, end = offset, offset + count
        for attempt in itertools.count(1):
            try:
                async for chunk in self._stream_once(resource, position, end):
                    position += len(chunk)
                    yield chunk
                return
            except (
                aiohttp.ClientPayloadError,
                aiohttp.ServerDisconnectedError,
                TimeoutError,
            ) as exc:
                if _RETRY.gives_up_after(attempt):
                    raise RemoteReadError(f"reading {self._name(resource)} failed: {exc}") from exc
                logger.info(
                    "Reading %s again from %d after: %s", self._name(resource), position, exc
                )

    async def _stream_once(self, resource: int, offset: int, end: int) -> AsyncIterator[bytes]:
        url = self._urls[resource]
        response = await self._get(url, identity(self._headers, Range=f"bytes={offset}-{end - 1}"))
        try:
            if response.status in _EXPIRED:
                raise ExpiredError(f"HTTP {response.status} from {without_query(url)}")
            if response.status not in (200, 206):
                raise RemoteReadError(f"HTTP {response.status} from {without_query(url)}")
            skip = 0
            if response.status == 206:
                match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
                if match is None or int(match.group(1)) != offset:
                    raise RemoteReadError(f"a wrong range from {without_query(url)}")
                if match.group(3) != "*":
                    self._sizes[resource] = int(match.group(3))
            else:
                skip = offset  # the server ignored the range: the whole file comes
                if response.content_length is not None:
                    self._sizes[resource] = response.content_length
            remaining = end - offset
            async for chunk in response.content.iter_chunked(_READ_BYTES):
                self.fetched_bytes += len(chunk)
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                chunk = chunk[:remaining]
                if chunk:
                    remaining -= len(chunk)
                    yield chunk
                if remaining == 0:
                    return
        finally:
            response.release()

    def _name(self, resource: int) -> str:
        return without_query(self._urls[resource])
