"""One remote file read in blocks: each block fetched from the origin once, through the cache.

The origin is asked for bounded byte ranges, as yt-dlp does for YouTube, whose servers slow
down open-ended reads: one ranged response is read at a time, and a read that continues the
previous one asks for twice as much, up to `_MAX_SPAN_BYTES`. A read that breaks is opened
again at once, three tries in all.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Mapping

import aiohttp

from mediabot.domain.retry import Backoff
from mediabot.media.probe import without_query
from mediabot.media.remote import mp4
from mediabot.media.remote.cache import BLOCK_BYTES, BlockCache, BlockKey
from mediabot.media.remote.http import RemoteReadError, UrlCheck, identity, open_checked

logger = logging.getLogger(__name__)

_FIRST_SPAN_BYTES = 512 * 1024
_MAX_SPAN_BYTES = 8 * 1024 * 1024
"""Bytes asked of the origin per request. A request after a seek asks for little (what the
origin sends past the point where the reader hangs up is wasted); each request that
continues the previous one asks for twice as much, up to the maximum."""
_ZEROS = bytes(BLOCK_BYTES)
_FETCH_RETRY = Backoff(base_delay_s=0.0, max_delay_s=0.0, max_attempts=3)
"""A block read that fails is re-opened at once, three tries in all."""
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class Origin:
    """One remote file: its length, and block reads through one ranged response at a time."""

    def __init__(
        self,
        index: int,
        url: str,
        headers: Mapping[str, str],
        url_check: UrlCheck | None,
        session: aiohttp.ClientSession,
        cache: BlockCache,
        proxy: str | None = None,
    ) -> None:
        self._proxy = proxy
        self._index = index
        self._url = url
        self._headers = dict(headers)
        self._url_check = url_check
        self._session = session
        self._cache = cache
        self._lock = asyncio.Lock()
        self._response: aiohttp.ClientResponse | None = None
        self._position = 0
        self._end = 0
        self._span = _FIRST_SPAN_BYTES
        self.size: int | None = None
        self.fetched_bytes = 0
        self.sample_data: mp4.SampleData | None = None
        """A plain MP4's sample data: zeros in the index view (see `find_sample_data`)."""

    async def length(self) -> int:
        """The file's length in bytes (one request to the origin the first time)."""
        if self.size is None:
            async with self._lock:
                if self.size is None:
                    await self._open_or_fail(0)
        assert self.size is not None
        return self.size

    async def block(self, number: int) -> bytes:
        """The bytes of block `number`, from the cache or else from the origin."""
        key = BlockKey(self._index, number)
        cached = await self._cache.get(key)
        if cached is not None:
            return cached
        async with self._lock:
            cached = await self._cache.get(key)
            if cached is not None:
                return cached
            data = await self._fetch(number)
            await self._cache.put(key, data)
            return data

    async def view_block(self, number: int) -> bytes:
        """Block `number` of the index view: zeros inside the sample data, else the file's."""
        start = number * BLOCK_BYTES
        end = min(start + BLOCK_BYTES, await self.length())
        if mp4.within_sample_data(self.sample_data or (), start, end):
            return _ZEROS[: max(0, end - start)]
        return await self.block(number)

    async def find_sample_data(self) -> bool:
        """True (and `sample_data` set, the index's blocks pinned in the cache) for a plain
        MP4, which then has an index view; False for any other file."""
        size = await self.length()
        found = await mp4.find_sample_data(self._read, size)
        if found is None:
            return False
        self.sample_data = found
        for blocks in mp4.index_blocks(found, size, BLOCK_BYTES):
            self._cache.pin(self._index, blocks)
        return True

    async def fetch_ahead(self, count: int) -> None:
        """Fetch the first `count` bytes of the sample data (of the file, when it is not a
        plain MP4) into the cache, block by block while the cache has room."""
        start = self.sample_data[0][0] if self.sample_data else 0
        end = min(start + count, await self.length())
        for number in range(start // BLOCK_BYTES, -(-end // BLOCK_BYTES)):
            if not self._cache.has_room():
                return
            await self.block(number)

    async def close(self) -> None:
        if self._response is not None:
            self._response.release()
            self._response = None

    async def _read(self, offset: int, count: int) -> bytes:
        """`count` bytes from `offset` (fewer at the end of the file), through the cache."""
        data = b""
        while len(data) < count:
            number, skip = divmod(offset + len(data), BLOCK_BYTES)
            block = await self.block(number)
            if len(block) <= skip:
                break
            data += block[skip : skip + count - len(data)]
        return data

    async def _fetch(self, number: int) -> bytes:
        offset = number * BLOCK_BYTES
        size = await self._length_locked(offset)
        wanted = min(BLOCK_BYTES, size - offset)
        if wanted <= 0:
            return b""
        for attempt in itertools.count(1):
            try:
                if self._response is None or self._position != offset or offset >= self._end:
                    await self._open_or_fail(offset)
                assert self._response is not None
                data = await self._response.content.readexactly(wanted)
            except (aiohttp.ClientError, asyncio.IncompleteReadError, TimeoutError) as exc:
                await self.close()
                if _FETCH_RETRY.gives_up_after(attempt):
                    raise RemoteReadError(
                        f"reading {without_query(self._url)} failed: {exc}"
                    ) from exc
                logger.info("Re-opening %s at %d after: %s", without_query(self._url), offset, exc)
                continue
            self._position = offset + wanted
            self.fetched_bytes += wanted
            return data
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _length_locked(self, offset: int) -> int:
        if self.size is None:
            await self._open_or_fail(offset)
        assert self.size is not None
        return self.size

    async def _open_or_fail(self, offset: int) -> None:
        """`_open`, with a refused URL or an unreachable origin as `RemoteReadError`."""
        try:
            await self._open(offset)
        except (RemoteReadError, aiohttp.ClientError, TimeoutError):
            raise
        except Exception as exc:  # the guard's refusal, whatever its type
            raise RemoteReadError(f"refused {without_query(self._url)}: {exc}") from exc

    async def _open(self, offset: int) -> None:
        """A response positioned at `offset`, following (checked) redirects by hand."""
        logger.debug(
            "Opening %s at %d (was at %d)", without_query(self._url), offset, self._position
        )
        continuing = self._response is not None and offset == self._position
        await self.close()
        self._span = min(self._span * 2, _MAX_SPAN_BYTES) if continuing else _FIRST_SPAN_BYTES
        end = offset + self._span
        if self.size is not None:
            end = min(end, self.size)
        headers = identity(self._headers, Range=f"bytes={offset}-{end - 1}")
        response = await open_checked(
            self._session, self._url, headers, url_check=self._url_check, proxy=self._proxy
        )
        url = str(response.url)
        total, first = _extent(response, offset)
        if first != offset:
            response.release()
            raise RemoteReadError(
                f"{without_query(url)} answered from byte {first} when asked for {offset} "
                f"(HTTP {response.status}): the server cannot seek"
            )
        self.size = total
        self._cache.know_size(self._index, total)
        self._response = response
        self._position = offset
        self._end = end if response.status == 206 else total


def _extent(response: aiohttp.ClientResponse, offset: int) -> tuple[int, int]:
    """(total length, first byte) of a ranged answer; refuses errors and unknown lengths."""
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or match.group(3) == "*":
            response.release()
            raise RemoteReadError(
                f"no usable Content-Range from {without_query(str(response.url))}"
            )
        return int(match.group(3)), int(match.group(1))
    if response.status == 200 and response.content_length is not None:
        return response.content_length, 0
    if response.status == 416:
        response.release()
        raise RemoteReadError(f"{without_query(str(response.url))} has no byte {offset}")
    status = response.status
    response.release()
    raise RemoteReadError(f"HTTP {status} from {without_query(str(response.url))}")
