"""The guard proxy on every request: HLS keys, segments and redirects, DNS rebinding, ffmpeg.

A trap server listens on 127.0.0.2 (the media server's port) and counts requests; the
guard lets 127.0.0.1/32 through (the loopback media server stands for a public host), so
anything that reaches the trap went around the guard. Link-local and private ranges are
judged at the proxy's decision level only (a fake resolver and a connector that records
attempts): no packet is ever sent to them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest
import yt_dlp

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import DownloadOptions, PrivateAddressError, make_downloader
from mediabot.downloaders import guarded as guarded_module
from mediabot.downloaders.guarded import GuardedYoutubeDL
from mediabot.downloaders.requests_tuning import MAX_REDIRECTS, tuned_requests_handler
from mediabot.downloaders.sites.generic import GenericDownloader
from mediabot.media.tools import MediaToolError, guarded_tools_dir, run_tool
from mediabot.net.addresses import GuardPolicy
from mediabot.net.proxy import Connection, GuardProxy, ProxySession
from tests.support.guard import proxy_authorization, proxy_port
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

ALLOWED = ("127.0.0.1/32",)
GUARDED = DownloadOptions(allow_private_urls=False, allowed_private_networks=ALLOWED)


class _FfmpegHls(GenericDownloader):
    """The generic downloader with yt-dlp's ffmpeg downloader for HLS."""

    _extra_params: ClassVar[dict[str, object]] = {"hls_prefer_native": False}


def _segments(media: MediaSources) -> list[str]:
    playlist = (media.dir / "hls" / "v0" / "index.m3u8").read_text().splitlines()
    return [f"{media.base_url}/hls/v0/{line}" for line in playlist if line.endswith(".ts")]


def _playlist(segments: list[str], key: str | None = None) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines += ["#EXT-X-PLAYLIST-TYPE:VOD"]
    if key is not None:
        lines.append(key)
    for segment in segments:
        lines += ["#EXTINF:2.000000,", segment]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


CASES = ["aes128-key", "sample-aes-key", "segment", "segment-redirect"]


@pytest.mark.parametrize("downloader", ["native", "ffmpeg"])
@pytest.mark.parametrize("case", CASES)
async def test_hls_keys_segments_and_redirects_on_a_private_address_are_refused(
    media: MediaSources,
    media_requests: MediaServer,
    trap: MediaServer,
    tmp_path: Path,
    case: str,
    downloader: str,
) -> None:
    segments = _segments(media)
    key = None
    trapped = trap.url("hls/key.bin")
    if case == "aes128-key":
        key = f'#EXT-X-KEY:METHOD=AES-128,URI="{trapped}"'
    elif case == "sample-aes-key":  # yt-dlp hands SAMPLE-AES to ffmpeg whatever it prefers
        key = f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="{trapped}",KEYFORMAT="identity"'
    elif case == "segment":
        segments[1] = segments[1].replace("127.0.0.1", "127.0.0.2")
    else:
        target = segments[1].replace("127.0.0.1", "127.0.0.2")
        segments[1] = media_requests.add_redirect(f"/moved/{case}/seg1.ts", target)
    url = media_requests.add_route(
        f"/cases/{case}-{downloader}.m3u8",
        body=_playlist(segments, key),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    cls = _FfmpegHls if downloader == "ffmpeg" else GenericDownloader
    with pytest.raises(PrivateAddressError):
        await cls(url, 0, options=GUARDED, kind=MediaKind.VIDEO).download(tmp_path)
    assert trap.requests == []
    assert media_requests.request_count(f"/cases/{case}") >= 1  # the playlist itself was read
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []


async def test_a_name_that_rebinds_to_a_private_address_never_reaches_it(
    media: MediaSources, media_requests: MediaServer, trap: MediaServer, tmp_path: Path
) -> None:
    answers: list[str] = []

    def rebinding(host: str, port: int) -> Iterable[str]:
        assert host == "rebind.example"
        answers.append("127.0.0.1" if not answers else "127.0.0.2")
        return [answers[-1]]

    options = DownloadOptions(
        allow_private_urls=False, allowed_private_networks=ALLOWED, resolver=rebinding
    )
    url = media.progressive_mp4.replace("127.0.0.1", "rebind.example")
    with pytest.raises(PrivateAddressError):
        await make_downloader(url, 360, options=options).download(tmp_path)
    assert len(answers) >= 2  # the proxy resolved again for a later connection...
    assert trap.requests == []  # ...and connected only where it had checked
    assert media_requests.request_count("/progressive") >= 1


class _Recorder:
    """A connector that records where the proxy would connect and never connects."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    async def __call__(self, address: str, port: int) -> Connection:
        self.attempts.append((address, port))
        raise ConnectionRefusedError("recorded, not connected")


def _ask(session: ProxySession, request: str, authorization: str | None = None) -> str:
    """`request` sent to the session's port with the `authorization` header line (default:
    the session's own credentials); "" sends none."""
    if authorization is None:
        authorization = proxy_authorization(session.url)
    if authorization:
        line, _, rest = request.partition("\r\n")
        request = f"{line}\r\n{authorization}\r\n{rest}"
    with socket.create_connection(("127.0.0.1", proxy_port(session.url)), timeout=5) as client:
        client.sendall(request.encode())
        return client.recv(4096).decode(errors="replace")


PUBLIC = "93.184.215.14"
DNS = {
    "metadata.example": ["169.254.169.254"],
    "intranet.example": ["10.0.0.5"],
    "mixed.example": [PUBLIC, "10.0.0.7"],
    "cdn.example": [PUBLIC],
    "office.example": ["10.1.2.3"],
}


def _fake_dns(host: str, port: int) -> Iterable[str]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "unknown")
    return DNS[host]


@pytest.mark.parametrize(
    ("request_text", "allowed"),
    [
        ("CONNECT 169.254.169.254:443 HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("CONNECT metadata.example:443 HTTP/1.1\r\n\r\n", False),
        ("GET http://10.0.0.5/latest HTTP/1.1\r\nHost: 10.0.0.5\r\n\r\n", False),
        ("GET http://intranet.example/a.mp4 HTTP/1.1\r\n\r\n", False),
        ("CONNECT mixed.example:443 HTTP/1.1\r\n\r\n", False),
        ("CONNECT [fe80::1]:443 HTTP/1.1\r\n\r\n", False),
        ("CONNECT [::ffff:10.0.0.1]:443 HTTP/1.1\r\n\r\n", False),
        ("CONNECT cdn.example:443 HTTP/1.1\r\n\r\n", True),
        ("GET http://office.example/v.mp4 HTTP/1.1\r\n\r\n", True),
    ],
)
def test_the_proxy_refuses_link_local_and_private_targets_before_connecting(
    request_text: str, allowed: bool
) -> None:
    recorder = _Recorder()
    policy = GuardPolicy.build(allowed_networks=["10.1.2.0/24"], resolver=_fake_dns)
    session = GuardProxy.running().open_session(policy, connector=recorder)
    try:
        answer = _ask(session, request_text)
    finally:
        session.close()
    if allowed:
        assert answer.startswith("HTTP/1.1 502")  # the recorder refused to connect
        assert len(recorder.attempts) == 1
        assert recorder.attempts[0][0] in (PUBLIC, "10.1.2.3")
        assert session.refusal_count == 0
    else:
        assert answer.startswith("HTTP/1.1 403")
        assert "X-Mediabot-Guard: refused" in answer
        assert recorder.attempts == []
        assert session.refusal_count == 1


def test_allow_private_keeps_the_proxy_but_lets_every_address_through() -> None:
    recorder = _Recorder()
    session = GuardProxy.running().open_session(
        GuardPolicy(allow_private=True, resolver=_fake_dns), connector=recorder
    )
    try:
        answer = _ask(session, "CONNECT intranet.example:443 HTTP/1.1\r\n\r\n")
    finally:
        session.close()
    assert answer.startswith("HTTP/1.1 502")
    assert recorder.attempts == [("10.0.0.5", 443)]


async def test_no_proxy_in_the_environment_cannot_send_ffmpeg_around_the_guard(
    trap: MediaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    session = GuardProxy.running().open_session(GuardPolicy.build(allowed_networks=ALLOWED))
    target = trap.url("progressive/video.mp4")
    try:
        with pytest.raises(MediaToolError):
            await run_tool(["ffprobe", "-v", "error", target], proxy=session.url)
        tools = guarded_tools_dir()
        assert tools is not None
        # yt-dlp's ffmpeg gets `http_proxy` and the rest of our environment: the wrapper
        # it is pointed at drops no_proxy.
        process = await asyncio.create_subprocess_exec(
            str(tools / "ffprobe"),
            "-v",
            "error",
            target,
            env={"PATH": "/usr/bin:/bin", "no_proxy": "*", "http_proxy": session.url},
        )
        assert await process.wait() != 0
    finally:
        session.close()
    assert trap.requests == []
    assert session.refusal_count == 2


def test_the_fast_extractor_list_falls_back_to_yt_dlps_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = list(yt_dlp.YoutubeDL({"quiet": True})._ies)
    with GuardedYoutubeDL({"quiet": True}, allow_private=False) as fast:
        assert list(fast._ies) == plain
    monkeypatch.setattr(guarded_module, "_fast_extractor_list_supported", lambda: False)
    with GuardedYoutubeDL({"quiet": True}, allow_private=False) as fallback:
        assert list(fallback._ies) == plain


def test_the_shared_tls_hook_falls_back_when_yt_dlp_lacks_it() -> None:
    class WithoutHookRH:
        RH_KEY = "Requests"

    assert tuned_requests_handler(WithoutHookRH) is WithoutHookRH


def test_the_redirect_limit_is_set_on_each_requests_session() -> None:
    class Session:
        max_redirects = 30

    class WithInstanceRH:
        RH_KEY = "Requests"

        def _create_instance(self, cookiejar: object = None) -> Session:
            return Session()

    tuned = tuned_requests_handler(WithInstanceRH)
    assert tuned()._create_instance(None).max_redirects == MAX_REDIRECTS


def test_the_shared_tls_hook_makes_its_own_context_when_the_key_attributes_are_missing() -> None:
    # A yt-dlp release that keeps the hook but renames what the key is built from gets a
    # context of its own per call: yt-dlp's behaviour, only slower.
    class WithoutKeyRH:
        RH_KEY = "Requests"
        made: ClassVar[list[object]] = []

        def _make_sslcontext(self, legacy_ssl_support: object = None) -> object:
            context = object()
            self.made.append(context)
            return context

    shared = tuned_requests_handler(WithoutKeyRH)
    assert shared is not WithoutKeyRH
    handler = shared()
    assert handler._make_sslcontext() is not handler._make_sslcontext()
    assert len(WithoutKeyRH.made) == 2
