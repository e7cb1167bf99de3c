"""The guard proxy: the one way out for every request made on behalf of a user's link.

A small HTTP forward proxy on 127.0.0.1. It takes `CONNECT host:port` (HTTPS: the tunnel
carries TLS end to end) and absolute-form plain-HTTP requests, resolves the host once,
checks every address against the `GuardPolicy` and connects to exactly the address it
checked: a name that resolves to a public address for the check and to loopback for the
connection (DNS rebinding) cannot get through, and neither can a redirect, a playlist's
key or segment, or anything ffmpeg opens, since each is a new request through the proxy.

Only this process's clients may use it: each session has a random secret of its own, and
a request without `Proxy-Authorization: Basic` for it is answered 407 before the proxy
resolves or connects anything, so another local process (or user) cannot borrow it as an
egress proxy. The credentials travel inside the session's `url`
(`http://mediabot:<secret>@127.0.0.1:<port>`): yt-dlp reaches the proxy through its `proxy`
parameter, ffmpeg and ffprobe through `http_proxy` in their environment (never on their
command line, which `ps` shows to everyone; ffmpeg sends the credentials once answered 407
with a `Proxy-Authenticate` challenge), aiohttp through `client_arguments` (the bare URL
and a `Proxy-Authorization` header, so its errors print no secret). `address` is the
listening address without the secret, for logs. Each `ProxySession` is one listening
port, so the proxy knows which download a connection belongs to: it counts the bytes
that session receives (the stall watchdog reads them), records what it refused (so the
user gets the private-network message, not a network error), and `close()` drops every
connection of the session at once, which unblocks a thread stuck in a socket read.

With `GuardPolicy.upstream_proxy` set, a connection the guard allowed goes on through that
HTTP proxy, to the address the guard checked (`net/upstream.py`).

All sessions are served by one event loop in a daemon thread of its own, so the proxy
does not depend on (or slow down) the caller's event loop, and blocking code can open and
close sessions from any thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from mediabot.net.addresses import GuardPolicy, IPAddress, parse_address
from mediabot.net.upstream import (
    UpstreamProxy,
    UpstreamProxyError,
    authority,
    split_credentials,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connector = Callable[[str, int], Awaitable[Connection]]
"""`(ip address, port) -> an open connection`; tests pass one that records attempts."""

REFUSAL_HEADER = "X-Mediabot-Guard"
PROXY_USER = "mediabot"
"""The user name in a session's proxy URL; the password is the session's secret."""
_CHUNK = 256 * 1024
_HEAD_LIMIT = 64 * 1024
_CONNECT_TIMEOUT_S = 30.0
_HOP_HEADERS = ("proxy-", "connection:", "keep-alive:")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A connection the guard refused, and why (for the log, never for the user)."""

    host: str
    port: int
    reason: str


async def _open_connection(address: str, port: int) -> Connection:
    return await asyncio.open_connection(address, port, limit=_HEAD_LIMIT)


class ProxySession:
    """One listening port of the guard proxy, used by one lookup, download or stream.

    `url` is what clients are given (`http://mediabot:<secret>@127.0.0.1:<port>`): it holds
    the secret, so it goes to clients only, never into a log line, an error text or a
    command line; `address` (`127.0.0.1:<port>`) is for those. Counters and refusals may be
    read from any thread; `close()` may be called from any thread, more than once.
    """

    def __init__(self, proxy: GuardProxy, policy: GuardPolicy, connector: Connector) -> None:
        self._proxy = proxy
        self.policy = policy
        self._connector = connector
        self._upstream = (
            UpstreamProxy.parse(policy.upstream_proxy) if policy.upstream_proxy else None
        )
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._refusals: list[Refusal] = []
        self._forgiven = 0
        self.received_bytes = 0
        """Bytes received from origins (headers included), over all connections."""
        self.unauthorized = 0
        """Requests answered 407 (no or wrong credentials): nothing resolved or connected."""
        self.closed = False
        self._secret = secrets.token_urlsafe(24)  # URL-safe: no escaping in the userinfo
        self._token = base64.b64encode(f"{PROXY_USER}:{self._secret}".encode())
        self.address = ""
        self.url = ""

    # ---- thread-safe surface -----------------------------------------------------------------

    @property
    def refusals(self) -> list[Refusal]:
        with self._lock:
            return list(self._refusals)

    @property
    def refusal_count(self) -> int:
        with self._lock:
            return len(self._refusals)

    @property
    def unforgiven_refusals(self) -> int:
        """Refusals not excused by `forgive` (a thumbnail's, say)."""
        with self._lock:
            return len(self._refusals) - self._forgiven

    def forgive(self, count: int) -> None:
        """Excuse `count` refusals: they cost the caller nothing it needed."""
        with self._lock:
            self._forgiven = min(self._forgiven + count, len(self._refusals))

    def close(self) -> None:
        """Stop listening and drop every connection of this session now."""
        if self.closed:
            return
        self.closed = True
        self._proxy.call(self._close())

    # ---- the proxy's side (runs on the proxy's loop) -----------------------------------------

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", 0, limit=_HEAD_LIMIT, reuse_address=True
        )
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        self.url = f"http://{PROXY_USER}:{self._secret}@{self.address}"

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.closed:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            upstream = await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client or origin hung up; nothing to report
        except asyncio.CancelledError:
            pass  # the session was closed
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            for end in (writer, upstream):
                if end is not None:
                    self._writers.discard(end)
                    end.transport.abort()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> asyncio.StreamWriter | None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head[:-4].split("\r\n")
        try:
            method, target, version = request_line.split(" ", 2)
        except ValueError:
            await _answer(writer, 400, "Bad Request")
            return None
        if not self._authorized(header_lines):
            # ffmpeg asks without credentials first and again once challenged: not worth a
            # warning. Nothing of the request (its credentials least of all) is logged.
            self.unauthorized += 1
            logger.debug(
                "Guard proxy %s: a request without its credentials, answered 407", self.address
            )
            await _answer(writer, 407, "Proxy Authentication Required", challenge=True)
            return None
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            if not host or not port_text.isdigit():
                await _answer(writer, 400, "Bad Request")
                return None
            connection = await self._connect(host.strip("[]"), int(port_text), writer)
            if connection is None:
                return None
            upstream_reader, upstream, _ = connection
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._tunnel(reader, writer, upstream_reader, upstream)
            return upstream
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            await _answer(writer, 400, "Bad Request")
            return None
        connection = await self._connect(parts.hostname, parts.port or 80, writer, tunnel=False)
        if connection is None:
            return None
        upstream_reader, upstream, origin = connection
        # `origin` is "" for a direct connection, the checked address for an upstream proxy.
        path = origin + urlunsplit(("", "", parts.path or "/", parts.query, ""))
        headers = [line for line in header_lines if not line.lower().startswith(_HOP_HEADERS)]
        if origin and self._upstream is not None:
            headers.extend(self._upstream.request_lines())
        request = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close"])
        upstream.write(request.encode("latin-1") + b"\r\n\r\n")
        await upstream.drain()
        body = asyncio.ensure_future(_pump(reader, upstream, None))
        try:
            response_head = (await upstream_reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            status_line, *response_lines = response_head[:-4].split("\r\n")
            kept = [line for line in response_lines if not line.lower().startswith(_HOP_HEADERS)]
            rewritten = "\r\n".join([status_line, *kept, "Connection: close"]) + "\r\n\r\n"
            self._count(len(response_head))
            writer.write(rewritten.encode("latin-1"))
            await writer.drain()
            await _pump(upstream_reader, writer, self._count)
        finally:
            body.cancel()
        return upstream

    def _authorized(self, header_lines: list[str]) -> bool:
        """Whether the request carries this session's credentials (compared in constant time)."""
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "proxy-authorization":
                scheme, _, token = value.strip().partition(" ")
                given = token.strip().encode("latin-1")
                return scheme.lower() == "basic" and hmac.compare_digest(given, self._token)
        return False

    async def _tunnel(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> None:
        outgoing = asyncio.ensure_future(_pump(reader, upstream, None, half_close=True))
        try:
            await _pump(upstream_reader, writer, self._count)
        finally:
            outgoing.cancel()

    async def _connect(
        self, host: str, port: int, writer: asyncio.StreamWriter, *, tunnel: bool = True
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str] | None:
        """Resolve `host` once, check every address, connect to a checked one; None if refused.

        With an upstream proxy, the connection is a tunnel through it to the checked address
        (`tunnel`) or a connection to the proxy itself, and the third item is the origin a
        plain-HTTP request names (`http://<checked address>:<port>`); otherwise "".
        """
        literal = parse_address(host)
        addresses: list[IPAddress] = []
        if literal is not None:
            addresses = [literal]
        else:
            try:
                loop = asyncio.get_running_loop()
                texts = await loop.run_in_executor(None, self.policy.resolver, host, port)
                parsed = [parse_address(text) for text in texts]
            except (OSError, UnicodeError) as exc:
                logger.info("Guard proxy: cannot resolve %s: %s", host, exc)
                await _answer(writer, 502, "Cannot resolve host")
                return None
            if not parsed or any(address is None for address in parsed):
                await self._refuse(writer, host, port, f"unusable addresses {texts!r}")
                return None
            addresses = [address for address in parsed if address is not None]
        for address in addresses:
            if not self.policy.permits(address):
                await self._refuse(writer, host, port, f"non-public address {address}")
                return None
        failure: Exception | None = None
        for address in addresses:
            try:
                reader, upstream = await asyncio.wait_for(
                    self._open(str(address), port, tunnel=tunnel), _CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError, UpstreamProxyError) as exc:
                failure = exc
                continue
            self._writers.add(upstream)
            via_upstream = self._upstream is not None and not tunnel
            return (
                reader,
                upstream,
                f"http://{authority(str(address), port)}" if via_upstream else "",
            )
        logger.info("Guard proxy: cannot connect to %s:%s: %s", host, port, failure)
        await _answer(writer, 502, "Cannot connect")
        return None

    async def _open(self, address: str, port: int, *, tunnel: bool) -> Connection:
        """A connection to a checked address: direct, or through the upstream proxy."""
        if self._upstream is None:
            return await self._connector(address, port)
        if tunnel:
            return await self._upstream.open_tunnel(address, port)
        return await self._upstream.open()

    async def _refuse(self, writer: asyncio.StreamWriter, host: str, port: int, why: str) -> None:
        logger.warning("Guard proxy refused %s:%s (%s)", host, port, why)
        with self._lock:
            self._refusals.append(Refusal(host, port, why))
        await _answer(writer, 403, "Refused by the private-network guard", refused=True)

    def _count(self, size: int) -> None:
        self.received_bytes += size


async def _answer(
    writer: asyncio.StreamWriter,
    status: int,
    reason: str,
    *,
    refused: bool = False,
    challenge: bool = False,
) -> None:
    extra = f"{REFUSAL_HEADER}: refused\r\n" if refused else ""
    if challenge:
        extra += 'Proxy-Authenticate: Basic realm="mediabot guard proxy"\r\n'
    head = f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    writer.write(head.encode())
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pump(
    source: asyncio.StreamReader,
    target: asyncio.StreamWriter,
    count: Callable[[int], None] | None,
    *,
    half_close: bool = False,
) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await source.read(_CHUNK):
            if count is not None:
                count(len(chunk))
            target.write(chunk)
            await target.drain()
        if half_close and target.can_write_eof():
            target.write_eof()


def client_arguments(
    proxy_url: str | None, target: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """aiohttp's arguments for a request of `target` with `headers` through `proxy_url`.

    aiohttp prints the proxy URL it is given in a `ClientHttpProxyError` (a CONNECT the guard
    refused), so in every message and traceback made of one: it gets the bare URL, and the
    credentials as a header: on the CONNECT for an https target (`proxy_headers`), on the
    request itself for a plain-http one (which goes to the proxy, and the guard proxy strips
    `Proxy-*` headers before it forwards anything).
    """
    arguments: dict[str, Any] = {"headers": dict(headers or {})}
    if proxy_url is None:
        return arguments
    bare, authorization = split_credentials(proxy_url)
    arguments["proxy"] = bare
    if authorization is not None:
        if urlsplit(target).scheme.lower() == "http":
            arguments["headers"]["Proxy-Authorization"] = authorization
        else:
            arguments["proxy_headers"] = {"Proxy-Authorization": authorization}
    return arguments


class GuardProxy:
    """The process's guard proxy: one event loop thread serving every `ProxySession`."""

    _instance: GuardProxy | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="guard-proxy", daemon=True
        )
        self._thread.start()
        self._shared: dict[GuardPolicy, ProxySession] = {}
        self._shared_lock = threading.Lock()

    @classmethod
    def running(cls) -> GuardProxy:
        """The process's proxy, started on first use."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = GuardProxy()
            return cls._instance

    def call(self, coroutine: Awaitable[T]) -> T:
        """Run `coroutine` on the proxy's loop and wait for it (from any other thread)."""

        async def wrapper() -> T:
            return await coroutine

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapper(), self._loop)
        return future.result(timeout=10)

    def open_session(
        self, policy: GuardPolicy, *, connector: Connector | None = None
    ) -> ProxySession:
        """A new listening session under `policy`; the caller closes it."""
        session = ProxySession(self, policy, connector or _open_connection)
        self.call(session._start())
        return session

    def shared_session(self, policy: GuardPolicy) -> ProxySession:
        """A session for `policy` that lives as long as the process (for long-lived readers
        whose owner cannot close a session, such as a stream plan handed to the splitter)."""
        with self._shared_lock:
            session = self._shared.get(policy)
            if session is None or session.closed:
                session = self._shared[policy] = self.open_session(policy)
            return session
