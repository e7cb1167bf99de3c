"""Remote media read once over the network, however often ffprobe and ffmpeg read it.

The file cutter reads each window of a remote source twice (ffprobe plans the part from
packet sizes, ffmpeg cuts it) and every run re-reads the container header. `RemoteInputs`
serves the remote files to those tools from a loopback HTTP server backed by the block
cache (`cache.BlockCache`): a byte is fetched from the origin once (`origin.Origin`), then
read locally as often as needed, and the disk the cache takes stays bounded whatever the
size of the source. A plain MP4 is also served as its index view (`index_urls`, see `mp4`),
its sample data zeros that are never fetched.

It is the only client of the origin: ffmpeg and ffprobe only ever connect to 127.0.0.1. So
the request headers (cookies included) never appear on a command line, and every redirect
the origin answers with passes `url_check` before it is followed (`http.open_checked`); the
tools cannot be sent elsewhere behind the guard's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp import web

from mediabot.media.remote.cache import BLOCK_BYTES, BlockCache
from mediabot.media.remote.http import RemoteReadError, UrlCheck, client_session, route
from mediabot.media.remote.origin import Origin

logger = logging.getLogger(__name__)

_CLIENT_RECEIVE_BUFFER = 256 * 1024
_INDEX_PREFIX = "/index"
_SOCKET_BUFFER_BYTES = 64 * 1024
_KEPT_BEHIND = 3
"""Blocks a consuming reader keeps behind it: about what it reads ahead (socket buffers and
the block in flight), so the next part's first blocks are not fetched again."""


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
        self._proxy, self._stall_timeout_s = route(url_check, proxy, stall_timeout_s)
        self._urls = tuple(urls)
        self._headers = dict(headers or {})
        self._url_check = url_check
        self._cache_dir = cache_dir
        self._cache = BlockCache(cache_dir, budget_bytes)
        self._origins: list[Origin] = []
        self._session: aiohttp.ClientSession | None = None
        self._server: asyncio.Server | None = None
        self._handler: web.Server | None = None
        self.local_urls: tuple[str, ...] = ()
        self._fetching_ahead: list[asyncio.Task[None]] = []
        self.index_urls: tuple[str | None, ...] = ()
        """Each input's index view, or None when it has none; set by `find_indexes`."""
        self.failure: str | None = None
        """Why reading an origin last failed, for the cutter's error message."""

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
        connector = aiohttp.TCPConnector(socket_factory=_small_receive_buffer)
        self._session = client_session(self._stall_timeout_s, connector)
        self._origins = [
            Origin(
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

        async def fetch(origin: Origin, share: int) -> None:
            try:
                await origin.fetch_ahead(share)
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

    def _origin_for(self, path: str) -> Origin | None:
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
