"""A tiny HTTP forward proxy on loopback that counts what it is asked: an operator's proxy."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit


@dataclass
class ProxiedRequest:
    method: str
    target: str
    """`host:port` for CONNECT, the absolute URL for plain HTTP."""
    headers: dict[str, str] = field(default_factory=dict)


class UpstreamProxy:
    """Takes `CONNECT host:port` and absolute-form plain-HTTP requests, forwards them as asked.

    `require_auth` ("user:password") answers 407 to a request without those credentials.
    Runs its own event loop in a thread; use as a context manager.
    """

    def __init__(self, require_auth: str | None = None) -> None:
        self.require_auth = require_auth
        self.requests: list[ProxiedRequest] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> UpstreamProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(5)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head[:-4].split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.requests.append(ProxiedRequest(method, target, headers))
            if self.require_auth is not None and not _authorised(headers, self.require_auth):
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                await writer.drain()
                return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                origin_reader, upstream = await asyncio.open_connection(host.strip("[]"), int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                parts = urlsplit(target)
                origin_reader, upstream = await asyncio.open_connection(
                    parts.hostname, parts.port or 80
                )
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                kept = [line for line in lines if not line.lower().startswith("proxy-")]
                upstream.write(
                    "\r\n".join([f"{method} {path} HTTP/1.1", *kept]).encode("latin-1")
                    + b"\r\n\r\n"
                )
                await upstream.drain()
            await asyncio.gather(_pump(reader, upstream), _pump(origin_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, OSError):
            pass
        finally:
            for end in (writer, upstream):
                if end is not None:
                    end.close()


def _authorised(headers: dict[str, str], credentials: str) -> bool:
    import base64

    expected = "Basic " + base64.b64encode(credentials.encode()).decode()
    return headers.get("proxy-authorization") == expected


async def _pump(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await source.read(65536):
            target.write(chunk)
            await target.drain()
        if target.can_write_eof():
            target.write_eof()
