"""PROXY_URL, YOUTUBE_PROXY_URL, INSTAGRAM_PROXY_URL: the guard first, then the site's proxy.

A counting forward proxy on loopback stands for the operator's proxy. The guard proxy
still resolves and checks every address; only what it allowed goes on, through the
upstream proxy, to the very address it checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yt_dlp.networking.common import Request

from mediabot.config import ConfigError, load_settings
from mediabot.domain.enums import Provider
from mediabot.downloaders import DownloadOptions, PrivateAddressError, make_downloader
from mediabot.downloaders.sites.instagram import InstagramDownloader
from mediabot.downloaders.sites.youtube import YouTubeDownloader
from mediabot.net.addresses import GuardPolicy
from mediabot.net.proxy import GuardProxy
from tests.downloaders.recorded import load, progressive_format, recorded
from tests.support.guard import proxy_authorization, proxy_port
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.upstream_proxy import UpstreamProxy


@pytest.fixture
def upstream() -> Iterator[UpstreamProxy]:
    with UpstreamProxy() as proxy:
        yield proxy


def _policy(upstream: str | None, **kwargs: Any) -> GuardPolicy:
    return GuardPolicy.build(upstream_proxy=upstream, **kwargs)


def _connect(proxy_url: str, target: str) -> bytes:
    """A CONNECT request for `target` with the guard session's credentials."""
    return f"CONNECT {target} HTTP/1.1\r\n{proxy_authorization(proxy_url)}\r\n\r\n".encode()


async def _get(proxy_url: str, url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as client, client.get(url, proxy=proxy_url) as answer:
        return answer.status, await answer.read()


async def test_plain_http_goes_through_the_upstream_proxy_to_the_checked_address(
    upstream: UpstreamProxy, media_requests: MediaServer
) -> None:
    route = media_requests.add_route("/site-proxy/page", body="hello")
    port = media_requests.base_url.rsplit(":", 1)[1]
    # A name, resolved by the guard (a fake resolver here); the upstream gets the address.
    policy = _policy(upstream.url, allow_private=True, resolver=lambda host, port: ["127.0.0.1"])
    session = GuardProxy.running().open_session(policy)
    try:
        status, body = await _get(session.url, route.replace("127.0.0.1", "media.example"))
    finally:
        session.close()
    assert (status, body) == (200, b"hello")
    assert [(r.method, r.target) for r in upstream.requests] == [
        ("GET", f"http://127.0.0.1:{port}/site-proxy/page")
    ]
    assert upstream.requests[0].headers["host"] == f"media.example:{port}"
    assert media_requests.request_count("/site-proxy/page") == 1


async def test_a_tunnel_goes_through_the_upstream_proxy_with_its_credentials(
    media_requests: MediaServer,
) -> None:
    media_requests.add_route("/site-proxy/tunnel", body="through")
    port = int(media_requests.base_url.rsplit(":", 1)[1])
    with UpstreamProxy(require_auth="me:s3cr:et") as upstream:
        policy = _policy(f"http://me:s3cr%3Aet@127.0.0.1:{upstream.port}", allow_private=True)
        session = GuardProxy.running().open_session(policy)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port(session.url))
            writer.write(_connect(session.url, f"127.0.0.1:{port}"))
            established = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"GET /site-proxy/tunnel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
        finally:
            session.close()
    assert established.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"through")
    assert [(r.method, r.target) for r in upstream.requests] == [("CONNECT", f"127.0.0.1:{port}")]


async def test_the_guard_refuses_before_the_upstream_proxy_hears_of_it(
    upstream: UpstreamProxy, media_requests: MediaServer
) -> None:
    route = media_requests.add_route("/site-proxy/private", body="secret")
    session = GuardProxy.running().open_session(_policy(upstream.url, allow_private=False))
    try:
        status, _ = await _get(session.url, route)
    finally:
        session.close()
    assert status == 403
    assert session.refusal_count == 1
    assert upstream.requests == []
    assert media_requests.request_count("/site-proxy/private") == 0


async def test_an_upstream_proxy_that_refuses_is_a_bad_gateway(
    media_requests: MediaServer,
) -> None:
    route = media_requests.add_route("/site-proxy/auth", body="x")
    with UpstreamProxy(require_auth="me:right") as upstream:
        session = GuardProxy.running().open_session(
            _policy(f"http://me:wrong@127.0.0.1:{upstream.port}", allow_private=True)
        )
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port(session.url))
            port = route.split(":")[2].split("/")[0]
            writer.write(_connect(session.url, f"127.0.0.1:{port}"))
            answer = await reader.read()
            writer.close()
        finally:
            session.close()
    assert answer.startswith(b"HTTP/1.1 502")
    assert media_requests.request_count("/site-proxy/auth") == 0


def _served_video(media: MediaSources) -> dict[str, Any]:
    info = load("instagram_reel")
    info["thumbnails"] = []
    info.pop("thumbnail", None)
    info["formats"] = [progressive_format(media.progressive_mp4)]
    return info


async def test_a_site_download_uses_its_own_proxy_for_every_request(
    tmp_path: Path, media: MediaSources, media_requests: MediaServer
) -> None:
    with UpstreamProxy() as general, UpstreamProxy() as instagram:
        options = DownloadOptions(
            allow_private_urls=True,
            proxy_url=general.url,
            site_proxy_urls={"instagram": instagram.url},
        )
        cls = recorded(InstagramDownloader, _served_video(media))
        result = await cls(
            "https://www.instagram.com/reel/C1a2b3c4D5e/", 360, options=options
        ).download(tmp_path)
    assert result.items[0].size_bytes > 0
    assert general.requests == []
    assert instagram.requests  # every request the media server saw came through it
    assert len(instagram.requests) == media_requests.request_count()


async def test_other_sites_use_the_general_proxy(
    tmp_path: Path, media: MediaSources, media_requests: MediaServer
) -> None:
    with UpstreamProxy() as general, UpstreamProxy() as youtube:
        options = DownloadOptions(
            allow_private_urls=True,
            proxy_url=general.url,
            site_proxy_urls={"youtube": youtube.url},
        )
        result = await make_downloader(media.progressive_mp4, 0, options=options).download(tmp_path)
    assert result.items[0].size_bytes > 0
    assert youtube.requests == []
    assert len(general.requests) == media_requests.request_count() > 0


def test_the_proxy_settings_choose_per_provider() -> None:
    options = DownloadOptions(proxy_url="http://p:1", site_proxy_urls={"youtube": "http://y:2"})
    assert options.proxy_for(Provider.YOUTUBE) == "http://y:2"
    assert options.proxy_for(Provider.INSTAGRAM) == "http://p:1"
    assert options.proxy_for(Provider.GENERIC) == "http://p:1"
    assert options.guard_policy(Provider.YOUTUBE).upstream_proxy == "http://y:2"
    assert YouTubeDownloader._session(options).policy.upstream_proxy == "http://y:2"
    assert DownloadOptions().guard_policy(Provider.YOUTUBE).upstream_proxy is None


def test_proxy_settings_are_validated_without_showing_them() -> None:
    settings = load_settings(proxy_url="http://user:pw@proxy.example:3128", instagram_proxy_url="")
    assert settings.instagram_proxy_url is None
    options = DownloadOptions.from_settings(settings)
    assert options.proxy_for(Provider.INSTAGRAM) == "http://user:pw@proxy.example:3128"
    assert "pw" not in repr(settings)
    for bad in ("socks5://proxy.example:1080", "http://proxy.example", "proxy.example:3128"):
        with pytest.raises(ConfigError, match="YOUTUBE_PROXY_URL") as caught:
            load_settings(youtube_proxy_url=bad)
        assert "proxy.example" not in str(caught.value)


async def test_the_po_token_provider_is_reached_directly_and_nothing_else_on_its_host(
    media_requests: MediaServer,
) -> None:
    ping = media_requests.add_route("/ping", body='{"version": "test"}')
    provider = media_requests.base_url
    options = DownloadOptions(youtube_pot_provider_url=provider)
    session = YouTubeDownloader._session(options)
    assert session.params()["extractor_args"] == {"youtubepot-bgutilhttp": {"base_url": [provider]}}
    assert "extractor_args" not in InstagramDownloader._session(options).params()

    def ask(url: str) -> bytes:
        # as the plugin asks its provider: with proxies off
        with session.open() as ydl:
            return bytes(ydl.urlopen(Request(url, proxies={"all": None})).read())

    try:
        assert await session.run(lambda: ask(ping)) == b'{"version": "test"}'
        elsewhere = ping.replace("127.0.0.1", "127.0.0.2")
        with pytest.raises(PrivateAddressError):
            await session.run(lambda: ask(elsewhere))
    finally:
        session.close()
    assert media_requests.request_count("/ping") == 1


def test_the_po_token_provider_setting_is_a_url() -> None:
    assert load_settings(youtube_pot_provider_url="http://pot:4416/").youtube_pot_provider_url == (
        "http://pot:4416"
    )
    with pytest.raises(ConfigError, match="YOUTUBE_POT_PROVIDER_URL"):
        load_settings(youtube_pot_provider_url="pot:4416")
