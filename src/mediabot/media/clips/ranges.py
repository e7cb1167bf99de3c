"""Byte ranges of one remote file, read through the private-network guard.

Every request is a bounded `Range` GET made by `open_checked` (each URL and redirect
checked, the guard proxy named by the check carrying it), so what is read is exactly what
is asked for; a server that ignores ranges is refused rather than read whole.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from mediabot.media.probe import without_query
from mediabot.media.remote.http import (
    RemoteReadError,
    UrlCheck,
    identity,
    open_checked,
    route,
)

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_READ_BYTES = 256 * 1024

_Sink = Callable[[bytes], object]
"""Where received bytes go (a list's `append`, a file's `write`)."""


class RangeReader:
    """Reads byte ranges of the file at `url` with `session` (the caller's: see
    `remote.http.client_session`).

    `fetched_bytes` counts every body byte received; `size` is the file's length, known
    after the first read.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        url_check: UrlCheck | None,
        session: aiohttp.ClientSession,
    ) -> None:
        self.url = url
        self._headers = headers
        self._url_check = url_check
        self._proxy, _ = route(url_check)
        self._session = session
        self.size: int | None = None
        self.fetched_bytes = 0

    async def read(self, offset: int, count: int) -> bytes:
        """`count` bytes from `offset`, fewer at the end of the file."""
        chunks: list[bytes] = []
        await self._ranged(offset, count, chunks.append)
        return b"".join(chunks)

    async def copy_into(self, path: Path, offset: int, count: int, *, at: int) -> None:
        """Write `count` bytes from `offset` into the existing file at `path`, from its
        byte `at`, as they arrive."""
        with path.open("r+b") as output:
            output.seek(at)
            await self._ranged(offset, count, output.write)

    async def _ranged(self, offset: int, count: int, sink: _Sink) -> None:
        if count <= 0:
            return
        headers = identity(self._headers, Range=f"bytes={offset}-{offset + count - 1}")
        response = await open_checked(
            self._session, self.url, headers, url_check=self._url_check, proxy=self._proxy
        )
        try:
            self._check(response, offset)
            async for chunk in response.content.iter_chunked(_READ_BYTES):
                self.fetched_bytes += len(chunk)
                await asyncio.to_thread(sink, chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RemoteReadError(f"reading {without_query(self.url)} failed: {exc}") from exc
        finally:
            response.release()

    def _check(self, response: aiohttp.ClientResponse, offset: int) -> None:
        """Refuse an answer that is not the range asked for; learn the file's size."""
        where = without_query(str(response.url))
        if response.status == 416:
            raise RemoteReadError(f"{where} has no byte {offset}")
        if response.status != 206:
            raise RemoteReadError(f"HTTP {response.status} from {where} when asked for a range")
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != offset:
            raise RemoteReadError(f"{where} did not answer with the range asked for")
        self.size = int(match.group(3))
