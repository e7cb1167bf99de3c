"""An upstream HTTP proxy the guard proxy forwards the connections it allowed through.

Used for `PROXY_URL`, `YOUTUBE_PROXY_URL` and `INSTAGRAM_PROXY_URL`: the guard still
resolves every name once and checks every address; only then does it ask the upstream
proxy for a tunnel to (or a plain-HTTP request on) the very address it checked, so the
upstream proxy can neither be pointed at a private network nor resolve a name differently.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

_HEAD_LIMIT = 64 * 1024


class UpstreamProxyError(Exception):
    """The upstream proxy could not be reached or refused the tunnel (the message has no secret)."""


@dataclass(frozen=True, slots=True)
class UpstreamProxy:
    """`http://[user:password@]host:port`, parsed; `authorization` is a header line or None."""

    host: str
    port: int
    authorization: str | None = None

    @classmethod
    def parse(cls, url: str) -> UpstreamProxy:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() != "http" or not parts.hostname or not parts.port:
            raise ValueError("an upstream proxy is http://[user:password@]host:port")
        _, authorization = split_credentials(url.strip())
        return cls(
            parts.hostname,
            parts.port,
            f"Proxy-Authorization: {authorization}" if authorization else None,
        )

    def __str__(self) -> str:
        return f"http://{self.host}:{self.port}"  # never the credentials

    def request_lines(self) -> list[str]:
        """Header lines every request to the upstream proxy carries."""
        return [self.authorization] if self.authorization else []

    async def open_tunnel(self, address: str, port: int) -> Connection:
        """A connection to `address:port` tunnelled through this proxy (`CONNECT`)."""
        target = authority(address, port)
        reader, writer = await self.open()
        head = "\r\n".join([f"CONNECT {target} HTTP/1.1", f"Host: {target}", *self.request_lines()])
        writer.write(head.encode("latin-1") + b"\r\n\r\n")
        await writer.drain()
        try:
            answer = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            writer.transport.abort()
            raise UpstreamProxyError(f"{self} hung up on CONNECT {target}") from exc
        status = answer.split(" ", 2)[1] if answer.count(" ") >= 1 else ""
        if status != "200":
            writer.transport.abort()
            raise UpstreamProxyError(f"{self} answered CONNECT {target} with {status or '?'}")
        return reader, writer

    async def open(self) -> Connection:
        """A plain connection to the proxy itself."""
        try:
            return await asyncio.open_connection(self.host, self.port, limit=_HEAD_LIMIT)
        except OSError as exc:
            raise UpstreamProxyError(f"cannot connect to {self}: {exc}") from exc


def split_credentials(url: str) -> tuple[str, str | None]:
    """`url` without its `user:password@`, and the `Proxy-Authorization` value (`Basic ...`)
    that carries them; None when the URL has none."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return bare, f"Basic {base64.b64encode(credentials.encode()).decode()}"


def authority(address: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
