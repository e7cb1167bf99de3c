"""Remote media read once over the network, however often ffprobe and ffmpeg read it.

The splitter reads each window of a remote source twice (ffprobe plans the part from packet
sizes, ffmpeg cuts it) and every run re-reads the container header. `RemoteInputs` serves the
remote files to those tools from a loopback HTTP server backed by a small block cache on
disk: a byte is fetched from the origin once, then read locally as often as needed. The cache
holds at most `budget_bytes`, so the disk it takes stays bounded whatever the size of the
source. Blocks are evicted by position, not by use: the splitter reads forward, so when the
cache is full the block furthest behind (by its place in its file) goes first: that is a
block already cut into a part. Each file's first `PINNED_BLOCKS` blocks (the container
header and the first packets, re-read by every run of ffprobe and ffmpeg to identify the
streams) are kept until the end, outside the budget.

A plain MP4 (one `moov` holding every sample's size and place, the samples in `mdat`) also
gets an index view (`index_urls`): the same file with its header bytes real (fetched once
and kept, like the first blocks) and its sample data all zeros, never fetched. ffprobe reads
packet sizes and keyframes from it for free, so a part is planned from the index alone and
the origin sends each byte once, to ffmpeg's cut.

It is also the only client of the origin: ffmpeg and ffprobe only ever connect to 127.0.0.1.
So the request headers (cookies included) never appear on a command line, and every redirect
the origin answers with passes `url_check` before it is followed; the tools cannot be sent
elsewhere behind the guard's back. When the check names the guard proxy (`ProxiedUrlCheck`,
or `proxy=`), every request to the origin goes through it, so the address connected to is
the address the guard checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import shutil
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp import web

from mediabot.domain.retry import Backoff
from mediabot.media.probe import without_query
from mediabot.net.proxy import REFUSAL_HEADER, client_arguments

logger = logging.getLogger(__name__)

UrlCheck = Callable[[str], None]
"""Raises to refuse a URL before any request is made to it (blocking: it may resolve DNS)."""


@runtime_checkable
class ProxiedUrlCheck(Protocol):
    """A `UrlCheck` that also names the guard proxy to read through, and a stall limit."""

    @property
    def proxy_url(self) -> str: ...

    @property
    def stall_timeout_s(self) -> float: ...

    def __call__(self, url: str) -> None: ...


BLOCK_BYTES = 128 * 1024
"""The unit fetched from the origin, cached on disk and evicted."""
_FIRST_SPAN_BYTES = 512 * 1024
_MAX_SPAN_BYTES = 8 * 1024 * 1024
"""Bytes asked of the origin per request: bounded ranges, as yt-dlp does for YouTube, whose
servers slow down open-ended reads. A request after a seek asks for little (what the origin
sends past the point where the reader hangs up is wasted); each request that continues the
previous one asks for twice as much, up to the maximum."""
_CLIENT_RECEIVE_BUFFER = 256 * 1024
PINNED_BLOCKS = 4
"""Leading blocks of each file kept outside the budget (512 KiB per file): the header and
the first packets, which every run of ffprobe and ffmpeg reads to identify the streams."""
_MAX_INDEX_BYTES = 32 * 1024 * 1024
"""An MP4's bytes outside its `mdat` (the index, kept on disk for the index view) may be at
most this much; a larger header is read as any other file. A 3-hour 720p MP4's is ~10 MB."""
_BOX_HEADER = 16
_INDEX_PREFIX = "/index"
_ZEROS = bytes(BLOCK_BYTES)
_SOCKET_BUFFER_BYTES = 64 * 1024
_KEPT_BEHIND = 3
"""Blocks a consuming reader keeps behind it: about what it reads ahead (socket buffers and
the block in flight), so the next part's first blocks are not fetched again."""
_MAX_REDIRECTS = 5
_FETCH_RETRY = Backoff(base_delay_s=0.0, max_delay_s=0.0, max_attempts=3)
"""A block read that fails is re-opened at once, three tries in all."""
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class RemoteReadError(Exception):
    """The origin cannot be read as a seekable file (no length, no ranges, HTTP errors)."""


@dataclass(frozen=True, slots=True)
class _Key:
    input_index: int
    block: int


class _BlockCache:
    """Blocks of the remote inputs in files under `folder`, at most `budget_bytes` of them.

    When full, the block furthest behind goes first: the lowest share of its own file (so a
    video and its audio track, read at the same pace in time, are compared fairly). A file's
    first `PINNED_BLOCKS` blocks are kept and not counted.
    """

    def __init__(self, folder: Path, budget_bytes: int) -> None:
        self._folder = folder
        self.budget_bytes = budget_bytes
        self._pinned: set[_Key] = set()
        self._blocks: dict[_Key, int] = {}
        self._sizes: dict[int, int] = {}
        self._total = 0
        self.consuming = False
        """While a last pass reads forward (see `RemoteInputs.consuming`), the blocks ahead
        of it are about to be read: evict from the far end instead, so a window larger than
        the budget costs a re-read of its end, not of every block one after another."""

    def know_size(self, input_index: int, size: int) -> None:
        self._sizes[input_index] = max(size, 1)

    @property
    def total_bytes(self) -> int:
        return self._total

    def pin(self, input_index: int, blocks: range) -> None:
        """Keep `blocks` of one input until the end, outside the budget (an MP4's index)."""
        for number in blocks:
            key = _Key(input_index, number)
            if not self._is_pinned(key):
                self._pinned.add(key)
                self._total -= self._blocks.get(key, 0)

    def _is_pinned(self, key: _Key) -> bool:
        return key.block < PINNED_BLOCKS or key in self._pinned

    def _path(self, key: _Key) -> Path:
        return self._folder / f"{key.input_index}-{key.block:08d}.blk"

    async def get(self, key: _Key) -> bytes | None:
        if key not in self._blocks:
            return None
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def put(self, key: _Key, data: bytes) -> None:
        await asyncio.to_thread(self._path(key).write_bytes, data)
        if not self._is_pinned(key):
            self._total += len(data) - self._blocks.get(key, 0)
        self._blocks[key] = len(data)
        while self._total > self.budget_bytes:
            candidates = [k for k in self._blocks if not self._is_pinned(k) and k != key]
            if not candidates:
                break
            pick = max if self.consuming else min
            old = pick(candidates, key=self._place)
            self._total -= self._blocks.pop(old)
            self._path(old).unlink(missing_ok=True)

    def drop(self, input_index: int, blocks: range) -> None:
        """Forget `blocks` of one input (the pinned ones stay)."""
        for number in blocks:
            key = _Key(input_index, number)
            if not self._is_pinned(key) and key in self._blocks:
                self._total -= self._blocks.pop(key)
                self._path(key).unlink(missing_ok=True)

    def drop_below(self, input_index: int, block: int) -> None:
        """Forget the blocks of one input before `block` (the pinned ones stay)."""
        behind = [k for k in self._blocks if k.input_index == input_index and k.block < block]
        for key in behind:
            if not self._is_pinned(key):
                self._total -= self._blocks.pop(key)
                self._path(key).unlink(missing_ok=True)

    def is_pinned(self, input_index: int, block: int) -> bool:
        return self._is_pinned(_Key(input_index, block))

    def _place(self, key: _Key) -> float:
        return key.block * BLOCK_BYTES / self._sizes.get(key.input_index, 1)


class _Origin:
    """One remote file: its length, and block reads through one ranged response at a time."""

    def __init__(
        self,
        index: int,
        url: str,
        headers: Mapping[str, str],
        url_check: UrlCheck | None,
        session: aiohttp.ClientSession,
        cache: _BlockCache,
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
        self.sample_data: tuple[tuple[int, int], ...] | None = None
        """A plain MP4's sample data, (first byte, end) of each `mdat` payload: zeros in the
        index view (see `find_sample_data`)."""

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
        key = _Key(self._index, number)
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
        for first, stop in self.sample_data or ():
            if first <= start and end <= stop:
                return _ZEROS[: max(0, end - start)]
        return await self.block(number)

    async def find_sample_data(self) -> bool:
        """Walk the top-level boxes: True (and `sample_data` set, the header's blocks pinned)
        for a plain MP4. False for anything else: no `ftyp` first, a `moof` (fragmented, the
        index is spread through the file), no `moov` or several, boxes that do not tile the
        file, or more than `_MAX_INDEX_BYTES` outside the sample data."""
        size = await self.length()
        offset = 0
        kinds: list[bytes] = []
        data: list[tuple[int, int]] = []
        while offset < size:
            header = await self._read(offset, min(_BOX_HEADER, size - offset))
            if len(header) < 8 or len(kinds) > 64:
                return False
            box_size, kind, head = int.from_bytes(header[:4], "big"), header[4:8], 8
            if box_size == 1 and len(header) == _BOX_HEADER:
                box_size, head = int.from_bytes(header[8:16], "big"), _BOX_HEADER
            elif box_size == 0:
                box_size = size - offset
            if box_size < head or offset + box_size > size or kind == b"moof":
                return False
            kinds.append(kind)
            if kind == b"mdat":
                data.append((offset + head, offset + box_size))
            offset += box_size
        header_bytes = size - sum(stop - first for first, stop in data)
        if kinds[:1] != [b"ftyp"] or kinds.count(b"moov") != 1 or header_bytes > _MAX_INDEX_BYTES:
            return False
        self.sample_data = tuple(data)
        edges = [0, *(edge for pair in data for edge in pair), size]
        for first, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop > first:
                self._cache.pin(
                    self._index, range(first // BLOCK_BYTES, (stop - 1) // BLOCK_BYTES + 1)
                )
        return True

    async def fetch_ahead(self, count: int, room: Callable[[], bool]) -> None:
        """Fetch the first `count` bytes of the sample data (of the file, when it is not a
        plain MP4) into the cache, block by block while `room()` says the cache has room."""
        start = self.sample_data[0][0] if self.sample_data else 0
        end = min(start + count, await self.length())
        for number in range(start // BLOCK_BYTES, -(-end // BLOCK_BYTES)):
            if not room():
                return
            await self.block(number)

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

    async def close(self) -> None:
        if self._response is not None:
            self._response.release()
            self._response = None

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
        headers = {**self._headers, "Range": f"bytes={offset}-{end - 1}"}
        headers["Accept-Encoding"] = "identity"
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


class RemoteInputs:
    """A loopback HTTP server that serves remote files from a bounded on-disk block cache.

    `local_urls` are what ffmpeg and ffprobe open instead of the remote URLs, in the same
    order. Use as an async context manager; closing stops the server, drops the origin
    connections and deletes the cache folder. `budget_bytes` may be changed at any time.
    """

    def __init__(
        self,
        urls: Sequence[str],
        cache_dir: Path,
        *,
        headers: Mapping[str, str] | None = None,
        url_check: UrlCheck | None = None,
        budget_bytes: int = 64 * 1024 * 1024,
        proxy: str | None = None,
        stall_timeout_s: float | None = None,
    ) -> None:
        """`proxy` (default: the one `url_check` names, if any) carries every request to
        the origins; a read that receives nothing for `stall_timeout_s` (default: the one
        `url_check` names, else 60 s) fails."""
        if isinstance(url_check, ProxiedUrlCheck):
            proxy = proxy or url_check.proxy_url
            stall_timeout_s = stall_timeout_s or url_check.stall_timeout_s
        self._proxy = proxy
        self._stall_timeout_s = stall_timeout_s or 60.0
        self._urls = tuple(urls)
        self._headers = dict(headers or {})
        self._url_check = url_check
        self._cache_dir = cache_dir
        self._cache = _BlockCache(cache_dir, budget_bytes)
        self._origins: list[_Origin] = []
        self._session: aiohttp.ClientSession | None = None
        self._server: asyncio.Server | None = None
        self._handler: web.Server | None = None
        self.local_urls: tuple[str, ...] = ()
        self._fetching_ahead: list[asyncio.Task[None]] = []
        self.index_urls: tuple[str | None, ...] = ()
        """Each input's index view (see the module's docstring), or None when it has none;
        set by `find_indexes`."""
        self.failure: str | None = None
        """Why reading an origin last failed, for the splitter's error message."""

    @property
    def budget_bytes(self) -> int:
        return self._cache.budget_bytes

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        self._cache.budget_bytes = max(value, BLOCK_BYTES)

    @property
    def consuming(self) -> bool:
        """True while a reader goes through the data for the last time (ffmpeg cutting a
        planned part): the blocks it has gone past are dropped at once, so the part it
        writes takes the place of the source bytes it was made from."""
        return self._cache.consuming

    @consuming.setter
    def consuming(self, value: bool) -> None:
        self._cache.consuming = value

    @property
    def fetched_bytes(self) -> int:
        """Bytes read from the origins so far (what went over the network)."""
        return sum(origin.fetched_bytes for origin in self._origins)

    async def __aenter__(self) -> RemoteInputs:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def start(self) -> None:
        await asyncio.to_thread(self._cache_dir.mkdir, parents=True, exist_ok=True)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=30, sock_read=self._stall_timeout_s
        )
        connector = aiohttp.TCPConnector(socket_factory=_small_receive_buffer)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        )
        self._origins = [
            _Origin(
                index, url, self._headers, self._url_check, self._session, self._cache, self._proxy
            )
            for index, url in enumerate(self._urls)
        ]
        self._handler = web.Server(self._serve)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # accepted sockets inherit it: a small send buffer keeps the read-ahead pushed
        # to ffmpeg (and so fetched from the origin before it is wanted) small
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER_BYTES)
        listener.bind(("127.0.0.1", 0))
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._handler, sock=listener)
        port = self._server.sockets[0].getsockname()[1]
        self.local_urls = tuple(
            f"http://127.0.0.1:{port}/{index}/{quote(_basename(url))}"
            for index, url in enumerate(self._urls)
        )

    async def find_indexes(self) -> tuple[str | None, ...]:
        """Look for each input's index view (reads its box headers); raises
        `RemoteReadError` when an origin cannot be read."""
        found = [await origin.find_sample_data() for origin in self._origins]
        self.index_urls = tuple(
            _index_url(url) if has else None
            for url, has in zip(self.local_urls, found, strict=True)
        )
        return self.index_urls

    def fetch_ahead(self, count: int) -> None:
        """Start fetching about `count` bytes of media from the beginning, shared among the
        inputs by their sizes, in the background: the first part's bytes arrive while the
        inputs are probed and the part is planned. It stops short of the cache's budget."""
        sizes = [origin.size or 0 for origin in self._origins]
        total = sum(sizes) or 1

        def room() -> bool:
            return self._cache.total_bytes + BLOCK_BYTES <= self._cache.budget_bytes

        async def fetch(origin: _Origin, share: int) -> None:
            try:
                await origin.fetch_ahead(share, room)
            except RemoteReadError as exc:  # the reader that needs these bytes sees it too
                logger.debug("Fetching ahead stopped: %s", exc)

        self._fetching_ahead = [
            asyncio.create_task(fetch(origin, count * size // total))
            for origin, size in zip(self._origins, sizes, strict=True)
        ]

    async def close(self) -> None:
        for task in self._fetching_ahead:
            task.cancel()
        await asyncio.gather(*self._fetching_ahead, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            if self._handler is not None:
                await self._handler.shutdown(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        for origin in self._origins:
            await origin.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        await asyncio.to_thread(shutil.rmtree, self._cache_dir, True)

    async def _serve(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path.removeprefix(_INDEX_PREFIX)
        index_view = path != request.path
        origin = self._origin_for(path)
        if origin is None or request.method not in ("GET", "HEAD"):
            return web.Response(status=404)
        try:
            size = await origin.length()
        except RemoteReadError as exc:
            logger.warning("Remote input unavailable: %s", exc)
            self.failure = str(exc)
            return web.Response(status=502)
        requested = _requested(request, size)
        if requested is None:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        first, last = requested
        partial = "Range" in request.headers
        response = web.StreamResponse(status=206 if partial else 200)
        response.content_length = last - first + 1
        response.content_type = "application/octet-stream"
        response.headers["Accept-Ranges"] = "bytes"
        if partial:
            response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        position = first
        first_block = first // BLOCK_BYTES
        input_index = int(path.lstrip("/").split("/", 1)[0])
        if (
            self.consuming
            and not index_view
            and not self._cache.is_pinned(input_index, first_block)
        ):
            # a last pass starting in the data: what lies before it was cut into parts
            # already (the run-out of the part before it is kept, as it is the start here)
            self._cache.drop_below(input_index, first_block - _KEPT_BEHIND)
        try:
            while position <= last:
                number = position // BLOCK_BYTES
                if self.consuming and not index_view and number - _KEPT_BEHIND > first_block:
                    # only blocks this connection itself went through, the last few kept:
                    # the reader reads ahead past its part's end, where the next part starts
                    self._cache.drop(input_index, range(first_block, number - _KEPT_BEHIND))
                data = await (origin.view_block if index_view else origin.block)(number)
                skip = position - number * BLOCK_BYTES
                chunk = data[skip : skip + last - position + 1]
                if not chunk:
                    break
                await response.write(chunk)
                position += len(chunk)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass  # ffmpeg read what it needed and hung up (a seek, or the end of a window)
        except RemoteReadError as exc:
            logger.warning("Remote input failed mid-read: %s", exc)
            self.failure = str(exc)
            raise  # aborts the connection: ffmpeg sees a short read and fails
        return response

    def _origin_for(self, path: str) -> _Origin | None:
        head = path.lstrip("/").split("/", 1)[0]
        if not head.isdigit() or int(head) >= len(self._origins):
            return None
        return self._origins[int(head)]


def _index_url(local_url: str) -> str:
    """The index view's address of one input served at `local_url`."""
    scheme, _, host, path = local_url.split("/", 3)
    return f"{scheme}//{host}{_INDEX_PREFIX}/{path}"


def _small_receive_buffer(address: AddrInfoType) -> socket.socket:
    """A client socket whose receive buffer caps what the origin sends ahead of need."""
    family, kind, proto, _, _ = address
    sock = socket.socket(family=family, type=kind, proto=proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _CLIENT_RECEIVE_BUFFER)
    return sock


def _requested(request: web.BaseRequest, size: int) -> tuple[int, int] | None:
    """The inclusive byte range the request asks for, clipped to `size`; None if unsatisfiable."""
    try:
        wanted = request.http_range  # aiohttp's parser: `bytes=a-b`, `bytes=a-`, `bytes=-n`
    except ValueError:
        return None
    first, stop, _ = wanted.indices(size)
    return (first, stop - 1) if stop > first else None


def _basename(url: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name or "media"
