"""A loopback HTTP server for the test media: byte ranges, HEAD, synthetic routes, a request log.

It serves one folder on 127.0.0.1 at a random port from its own thread, so it answers while the
test blocks on yt-dlp in a thread or on an ffmpeg subprocess. Every request is recorded, which is
how a test proves that nothing (or exactly one probe) reached the media source.
"""

from __future__ import annotations

import posixpath
import re
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from multidict import CIMultiDict, CIMultiDictProxy

_CONTENT_TYPES = {
    ".mpd": "application/dash+xml",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".m4s": "video/iso.segment",
    ".ts": "video/mp2t",
    ".mp3": "audio/mpeg",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
_CHUNK = 64 * 1024
_HOLD_S = 30.0
"""The longest a held request waits: a test that never releases it fails, it does not hang."""
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class RecordedRequest:
    """One request the server received, recorded on arrival.

    `status` and `bytes_sent` are updated *before* the bytes go out, so whatever a client has
    already received is reflected here (no race between a test's assertion and the log).
    """

    method: str
    path: str
    """The URL path, percent-decoded, without the query."""
    query: str
    headers: CIMultiDictProxy[str]
    """Request headers; names are case-insensitive."""
    time: float
    """`time.monotonic()` when the request arrived."""
    status: int = 0
    """0 until the response starts."""
    bytes_sent: int = 0
    """Body bytes written (fewer than asked for when the client hung up)."""

    @property
    def range(self) -> str | None:
        """The Range header, if any."""
        return self.headers.get("Range")


@dataclass(frozen=True)
class _Route:
    status: int
    body: bytes
    headers: Mapping[str, str]
    drip_interval_s: float = 0.0
    """When set, the body goes out one byte per interval (a server that stalls everyone)."""
    file: Path | None = None
    """When set, this file is served instead of `body`, with byte ranges (see `add_file`)."""
    announced_bytes: int | None = None
    """When set, `file` is announced as this long, sent whole, and the connection closed."""


class MediaServer:
    """Serves `root` over HTTP on 127.0.0.1; use as a context manager or `start()`/`stop()`.

    With `tls` (a server context), it serves HTTPS instead.
    """

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.tls = tls
        self.throttle_bytes_per_second: int | None = None
        """When set, file bodies are paced to this rate (to keep a download in flight)."""
        self.throttle_is_line = False
        """When True, the rate is shared by every response at once, like one line (by
        default each response gets the whole rate)."""
        self._line_free_at = 0.0
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._routes: dict[str, _Route] = {}
        self._holds: dict[str, threading.Event] = {}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def _line_wait(self, size: int, rate: int) -> float:
        """Seconds to pause after sending `size` bytes at `rate`: alone, or in the line's
        queue when the rate is shared."""
        if not self.throttle_is_line:
            return size / rate
        with self._lock:
            now = time.monotonic()
            self._line_free_at = max(self._line_free_at, now) + size / rate
            return self._line_free_at - now

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> MediaServer:
        handler = type("_BoundHandler", (_Handler,), {"owner": self})
        httpd = _Server((self.host, self.port), handler)
        if self.tls is not None:  # the handshake happens in the request's thread
            httpd.socket = self.tls.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="media-server",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test-facing API -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` (`https://` with TLS), without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("the media server is not running")
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def url(self, relpath: str) -> str:
        """The URL of `relpath` (a path under the served folder, or a synthetic route)."""
        return f"{self.base_url}/{relpath.lstrip('/')}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered since the last `reset()`, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def request_count(self, prefix: str = "") -> int:
        """How many recorded requests have a path starting with `prefix` ("/" optional)."""
        wanted = "/" + prefix.lstrip("/")
        return sum(1 for request in self.requests if request.path.startswith(wanted))

    def reset(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def add_route(
        self,
        path: str,
        status: int = 200,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Answer every request for `path` with this response; returns the route's URL.

        A `str` body is sent as UTF-8 HTML unless `headers` names a Content-Type.
        """
        path = "/" + path.lstrip("/")
        all_headers = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
            if not any(name.lower() == "content-type" for name in all_headers):
                all_headers["Content-Type"] = "text/html; charset=utf-8"
        with self._lock:
            self._routes[path] = _Route(status, body, all_headers)
        return self.url(path)

    def add_drip(
        self,
        path: str,
        *,
        interval_s: float,
        size: int = 10_000_000,
        content_type: str = "video/mp4",
    ) -> str:
        """Answer `path` with `size` bytes announced, then one byte per `interval_s`."""
        path = "/" + path.lstrip("/")
        headers = {"Content-Type": content_type}
        with self._lock:
            self._routes[path] = _Route(200, b"\0" * size, headers, drip_interval_s=interval_s)
        return self.url(path)

    def add_file(
        self, path: str, file: Path, content_type: str, *, announced_bytes: int | None = None
    ) -> str:
        """Serve `file` at `path` (byte ranges, HEAD) under another name and Content-Type,
        e.g. an MP4 as `application/octet-stream` at a path without extension, as S3 does.

        With `announced_bytes`, a server that lies about the size: a request without a
        range gets a 200 announcing that Content-Length, carrying the whole file, after
        which the connection is closed; a range is answered from the file, its
        Content-Range naming `announced_bytes` as the total."""
        path = "/" + path.lstrip("/")
        route = _Route(
            200, b"", {"Content-Type": content_type}, file=file, announced_bytes=announced_bytes
        )
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def add_redirect(self, path: str, location: str, status: int = 302) -> str:
        """Redirect `path` to `location` (any URL: another route, or a forbidden address)."""
        return self.add_route(path, status, b"", {"Location": location})

    def hold(self, path: str) -> threading.Event:
        """Keep every request for `path` waiting (recorded, unanswered) until the returned
        event is set; `clear_routes` releases them."""
        path = "/" + path.lstrip("/")
        with self._lock:
            gate = self._holds[path] = threading.Event()
        return gate

    def clear_routes(self) -> None:
        """Remove the synthetic routes, the holds and the throttle."""
        self.throttle_is_line = False
        with self._lock:
            self._routes.clear()
            for gate in self._holds.values():
                gate.set()
            self._holds.clear()
        self.throttle_bytes_per_second = None

    # -- used by the handler ---------------------------------------------------------------

    def _route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path)

    def _wait_if_held(self, path: str) -> None:
        with self._lock:
            gate = self._holds.get(path)
        if gate is not None:
            gate.wait(_HOLD_S)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    """A site takes many connections at once (fragment heads are read eight at a time, each
    through the guard proxy on a connection of its own): the default backlog of 5 drops
    connections beyond it, and their clients retry only after a second."""

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client drops a connection (yt-dlp and ffmpeg do, often)."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    owner: MediaServer
    _record: RecordedRequest
    protocol_version = "HTTP/1.1"  # keep-alive, like a real CDN
    server_version = "mediabot-test-media/1"
    timeout = 30  # an idle keep-alive connection does not pin a thread forever

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        self._serve(head=False)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log; the request log is `MediaServer.requests`."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self._record.status = code
        super().send_response(code, message)

    def _write(self, data: bytes) -> None:
        self._record.bytes_sent += len(data)
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self._record.bytes_sent -= len(data)
            raise

    def _serve(self, *, head: bool) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        self._record = RecordedRequest(
            method=self.command,
            path=path,
            query=split.query,
            headers=CIMultiDictProxy(CIMultiDict(self.headers.items())),
            time=time.monotonic(),
        )
        self.owner._record(self._record)
        self._drain_body()
        self.owner._wait_if_held(path)
        try:
            route = self.owner._route(path)
            if route is not None and route.file is not None and route.announced_bytes:
                self._send_announced(route.file, route, head=head)
            elif route is not None and route.file is not None:
                self._send_file(route.file, route.headers["Content-Type"], head=head)
            elif route is not None:
                self._send_route(route, head=head)
            else:
                self._send_file(self._resolve(path), None, head=head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _send_route(self, route: _Route, *, head: bool) -> None:
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if head:
            return
        if not route.drip_interval_s:
            self._write(route.body)
            return
        for index in range(len(route.body)):
            self._write(route.body[index : index + 1])
            self.wfile.flush()
            time.sleep(route.drip_interval_s)

    def _send_announced(self, file: Path, route: _Route, *, head: bool) -> None:
        data = file.read_bytes()
        wanted = _RANGE.match((self.headers.get("Range") or "").strip())
        if wanted is not None and wanted.group(1):
            start = int(wanted.group(1))
            end = min(int(wanted.group(2) or len(data) - 1), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Type", route.headers["Content-Type"])
            self.send_header("Content-Range", f"bytes {start}-{end}/{route.announced_bytes}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            if not head:
                self._write(data[start : end + 1])
            return
        self.send_response(200)
        self.send_header("Content-Type", route.headers["Content-Type"])
        self.send_header("Content-Length", str(route.announced_bytes))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if not head:
            self._write(data)

    def _send_error(
        self, status: int, message: str, extra: Mapping[str, str] | None = None
    ) -> None:
        body = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self._write(body)

    def _resolve(self, path: str) -> Path | None:
        relpath = posixpath.normpath(path).lstrip("/")
        if relpath.startswith("..") or relpath in ("", "."):
            return None
        candidate = self.owner.root / relpath
        return candidate if candidate.is_file() else None

    def _send_file(self, file: Path | None, content_type: str | None, *, head: bool) -> None:
        if file is None:
            self._send_error(404, "Not Found")
            return
        size = file.stat().st_size
        start, end = 0, size - 1
        status = 200
        wanted = self.headers.get("Range")
        if wanted is not None:
            try:
                parsed = _parse_range(wanted, size)
            except _UnsatisfiableRangeError:
                self._send_error(416, "Range Not Satisfiable", {"Content-Range": f"bytes */{size}"})
                return
            if parsed is not None:
                start, end = parsed
                status = 206
        length = end - start + 1 if size else 0
        self.send_response(status)
        if content_type is None:
            content_type = _CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        self.send_header("Content-Type", content_type)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not head:
            self._copy(file, start, length)

    def _copy(self, file: Path, start: int, length: int) -> None:
        rate = self.owner.throttle_bytes_per_second
        chunk_size = min(_CHUNK, rate) if rate else _CHUNK
        left = length
        with file.open("rb") as source:
            source.seek(start)
            while left > 0:
                chunk = source.read(min(chunk_size, left))
                if not chunk:
                    break
                self._write(chunk)
                left -= len(chunk)
                # Read again: a test may lift (or change) the throttle mid-response.
                rate = self.owner.throttle_bytes_per_second
                if rate:
                    time.sleep(self.owner._line_wait(len(chunk), rate))


class _UnsatisfiableRangeError(Exception):
    pass


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range, or None to ignore the header.

    Multi-range and malformed headers are ignored (RFC 9110 allows answering 200).
    Raises _UnsatisfiableRangeError for a range past the end.
    """
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise _UnsatisfiableRangeError
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        raise _UnsatisfiableRangeError
    return start, end
