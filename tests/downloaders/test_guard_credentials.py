"""The guard proxy serves its own process only: each session has a secret, anything else gets 407.

Real clients (yt-dlp, ffprobe, aiohttp) read the loopback media server through a session,
over plain HTTP and through a CONNECT tunnel to an HTTPS copy of it (a self-signed
certificate made here); the requests that lack the secret are judged at the proxy's
decision level: a resolver and a connector that record what they are asked.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import subprocess
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from urllib.parse import urlsplit

import aiohttp
import pytest
from yt_dlp.networking import Request

from mediabot.downloaders.guarded import GuardedYoutubeDL, GuardRefusalError
from mediabot.media.probe import ProbeError, probe
from mediabot.media.remote.http import RemoteReadError, open_checked
from mediabot.net.addresses import GuardPolicy
from mediabot.net.proxy import Connection, GuardProxy, ProxySession
from tests.support.guard import proxy_authorization, proxy_port
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

LOOPBACK = GuardPolicy.build(allowed_networks=["127.0.0.1/32"])
PATH = "/progressive/video.mp4"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", "req", "-x509", *new_key, "-keyout", str(key), "-out", str(cert), *subject],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def https_server(media: MediaSources, tls: ssl.SSLContext) -> Iterator[MediaServer]:
    with MediaServer(media.dir, tls=tls) as server:
        yield server


@pytest.fixture(params=["http", "https"])
def origin(
    request: pytest.FixtureRequest, media_requests: MediaServer, https_server: MediaServer
) -> Iterator[MediaServer]:
    """The media server, over plain HTTP or behind TLS (a CONNECT tunnel through the proxy)."""
    server = media_requests if request.param == "http" else https_server
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def session() -> Iterator[ProxySession]:
    session = GuardProxy.running().open_session(LOOPBACK)
    yield session
    session.close()


def _secrets(session: ProxySession) -> list[str]:
    """The session's secret as it could show: itself, and inside the Basic token."""
    parts = urlsplit(session.url)
    assert parts.password
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    return [parts.password, token]


def _insecure_client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))


async def _read_with_aiohttp(proxy: str, url: str) -> int:
    async with _insecure_client() as client:
        response = await open_checked(
            client, url, {"Range": "bytes=0-99"}, url_check=None, proxy=proxy
        )
        await response.read()
        response.release()
        return response.status


def _read_with_yt_dlp(session: ProxySession, url: str) -> bytes:
    with GuardedYoutubeDL(
        {"quiet": True, "nocheckcertificate": True}, allow_private=True, guard=session
    ) as ydl:
        return bytes(ydl.urlopen(Request(url, headers={"Range": "bytes=0-99"})).read())


async def test_yt_dlp_ffprobe_and_aiohttp_reach_the_origin_with_the_sessions_secret(
    origin: MediaServer, session: ProxySession
) -> None:
    url = origin.url(PATH)
    facts = await probe(url, proxy=session.url)
    assert {stream.codec_type for stream in facts.streams} == {"video", "audio"}
    assert await _read_with_aiohttp(session.url, url) == 206
    assert len(await asyncio.to_thread(_read_with_yt_dlp, session, url)) == 100
    assert session.refusal_count == 0
    # ffprobe sends the credentials once challenged; yt-dlp and aiohttp at once
    assert session.unauthorized >= 1
    clients = {request.headers.get("User-Agent", "").split("/")[0] for request in origin.requests}
    assert len(clients) == 3, clients


async def test_real_clients_without_the_secret_get_407_and_the_origin_hears_nothing(
    origin: MediaServer, session: ProxySession
) -> None:
    url = origin.url(PATH)
    bare = f"http://{session.address}"
    with pytest.raises(ProbeError):
        await probe(url, proxy=bare)
    async with _insecure_client() as client:
        if url.startswith("https"):
            with pytest.raises(aiohttp.ClientHttpProxyError) as refused:
                await client.get(url, proxy=bare)
            assert refused.value.status == 407
        else:
            async with client.get(url, proxy=bare) as answer:
                assert answer.status == 407
    assert session.unauthorized >= 2
    assert origin.requests == []


class _Recorder:
    """A resolver and a connector that record what the proxy asks them, and never connect."""

    def __init__(self) -> None:
        self.resolved: list[str] = []
        self.attempts: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> Iterable[str]:
        self.resolved.append(host)
        return ["93.184.215.14"]

    async def connect(self, address: str, port: int) -> Connection:
        self.attempts.append((address, port))
        raise ConnectionRefusedError("recorded, not connected")


def _basic(credentials: str) -> str:
    return f"Proxy-Authorization: Basic {base64.b64encode(credentials.encode()).decode()}"


def _ask(port: int, request: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(request.encode())
        return client.recv(4096).decode(errors="replace")


CREDENTIALS = {
    "none": lambda own, other: "",
    "wrong secret": lambda own, other: _basic("mediabot:guessed"),
    "another session's": lambda own, other: proxy_authorization(other.url),
    "own secret, other user": lambda own, other: _basic(f"admin:{urlsplit(own.url).password}"),
    "own secret, not Basic": lambda own, other: (
        f"Proxy-Authorization: Bearer {urlsplit(own.url).password}"
    ),
    "malformed": lambda own, other: "Proxy-Authorization: Basic !!not base64!!",
    "empty": lambda own, other: "Proxy-Authorization:",
}


@pytest.mark.parametrize("credentials", [*CREDENTIALS, "own"])
@pytest.mark.parametrize(
    "request_line", ["CONNECT cdn.example:443 HTTP/1.1", "GET http://cdn.example/v.mp4 HTTP/1.1"]
)
def test_without_the_sessions_secret_nothing_is_resolved_or_connected(
    request_line: str, credentials: str
) -> None:
    recorder = _Recorder()
    policy = GuardPolicy.build(resolver=recorder.resolve)
    own = GuardProxy.running().open_session(policy, connector=recorder.connect)
    other = GuardProxy.running().open_session(LOOPBACK)
    try:
        if credentials == "own":
            header = proxy_authorization(own.url)
        else:
            header = CREDENTIALS[credentials](own, other)
        lines = [request_line, "Host: cdn.example", *([header] if header else [])]
        answer = _ask(proxy_port(own.url), "\r\n".join(lines) + "\r\n\r\n")
    finally:
        own.close()
        other.close()
    if credentials == "own":
        assert answer.startswith("HTTP/1.1 502")  # the recorder refused to connect
        assert recorder.resolved == ["cdn.example"]
        assert recorder.attempts == [("93.184.215.14", 443 if "CONNECT" in request_line else 80)]
        assert own.unauthorized == 0
        return
    assert answer.startswith("HTTP/1.1 407")
    assert 'Proxy-Authenticate: Basic realm="mediabot guard proxy"' in answer
    assert recorder.resolved == []
    assert recorder.attempts == []
    assert own.unauthorized == 1
    assert own.refusal_count == 0


async def test_errors_of_a_refused_tunnel_carry_no_secret() -> None:
    """A CONNECT the guard refuses (a name for 127.0.0.2, not allowed), seen by each client:
    nothing it raises (message, cause, repr) shows the session's secret."""
    policy = GuardPolicy.build(
        allowed_networks=["127.0.0.1/32"], resolver=lambda host, port: ["127.0.0.2"]
    )
    session = GuardProxy.running().open_session(policy)
    url = f"https://trap.example:8443{PATH}"
    texts: list[str] = []
    try:
        attempts: list[tuple[type[Exception], Callable[[], Awaitable[object]]]] = [
            (RemoteReadError, lambda: _read_with_aiohttp(session.url, url)),
            (ProbeError, lambda: probe(url, proxy=session.url)),
            (GuardRefusalError, lambda: asyncio.to_thread(_read_with_yt_dlp, session, url)),
        ]
        for error, attempt in attempts:
            with pytest.raises(error) as failed:
                await attempt()
            texts.append("".join(traceback.format_exception(failed.value)))
            texts.append(repr(failed.value))
    finally:
        session.close()
    assert session.refusal_count == 3
    assert "refused" in texts[0]  # aiohttp's error, with the guard's answer
    for secret in _secrets(session):
        assert [text for text in texts if secret in text] == []
