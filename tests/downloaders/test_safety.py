"""The private-network guard: the address classifier and URL/redirect checks, with a fake DNS."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import pytest

from mediabot.downloaders import (
    NetworkError,
    NotFoundError,
    PrivateAddressError,
    UnsupportedLinkError,
)
from mediabot.downloaders.safety import (
    check_redirect,
    check_url,
    ensure_public_url,
    is_public_address,
)

PUBLIC = "93.184.215.14"


class FakeDns:
    """A resolver from a table; counts lookups so tests can see none happened."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Iterable[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_recognised(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8080/dash/manifest.mpd",
        "https://[::1]/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5:9000/a.mp4",
        "http://[::ffff:7f00:1]/",
        "http://user:pw@192.168.0.10/video.mp4",
    ],
)
def test_private_literals_are_refused_without_dns(url: str) -> None:
    dns = FakeDns({})
    with pytest.raises(PrivateAddressError):
        check_url(url, allow_private=False, resolver=dns)
    assert dns.lookups == []


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    dns = FakeDns({"internal.example.com": [PUBLIC, "10.0.0.7"], "localhost": ["127.0.0.1"]})
    with pytest.raises(PrivateAddressError) as caught:
        check_url("https://internal.example.com/v.mp4", allow_private=False, resolver=dns)
    assert "10.0.0.7" in caught.value.detail
    assert "10.0.0.7" not in caught.value.user_message
    with pytest.raises(PrivateAddressError):
        check_url("http://localhost:8000/", allow_private=False, resolver=dns)


def test_a_public_name_passes() -> None:
    dns = FakeDns({"cdn.example.com": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    check_url("https://cdn.example.com/v.mp4", allow_private=False, resolver=dns)
    assert dns.lookups == ["cdn.example.com"]


def test_allow_private_skips_the_address_check_but_not_the_scheme_check() -> None:
    dns = FakeDns({})
    check_url("http://127.0.0.1:8080/a.mpd", allow_private=True, resolver=dns)
    check_url("http://intranet/a.mpd", allow_private=True, resolver=dns)
    assert dns.lookups == []
    with pytest.raises(PrivateAddressError):
        check_url("file:///etc/passwd", allow_private=True, resolver=dns)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "FILE:///C:/Windows/win.ini", "file://localhost/etc/hosts"]
)
def test_file_urls_are_refused(url: str) -> None:
    with pytest.raises(PrivateAddressError):
        check_url(url, allow_private=False, resolver=FakeDns({}))


@pytest.mark.parametrize("url", ["ftp://example.org/a.mp4", "gopher://x/", "http:///nohost", "x"])
def test_non_web_links_are_unsupported(url: str) -> None:
    with pytest.raises(UnsupportedLinkError):
        check_url(url, allow_private=False, resolver=FakeDns({}))


def test_unknown_names_are_not_found_and_dns_trouble_is_transient() -> None:
    with pytest.raises(NotFoundError):
        check_url("https://no-such-host.example/", allow_private=False, resolver=FakeDns({}))

    def flaky(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    with pytest.raises(NetworkError) as caught:
        check_url("https://cdn.example.com/", allow_private=False, resolver=flaky)
    assert caught.value.transient


def test_redirects_are_checked_against_their_absolute_target() -> None:
    dns = FakeDns({"site.example.com": [PUBLIC], "cdn.example.com": [PUBLIC]})
    start = "https://site.example.com/watch/1"
    assert (
        check_redirect(start, "https://cdn.example.com/v.mp4", allow_private=False, resolver=dns)
        == "https://cdn.example.com/v.mp4"
    )
    assert (
        check_redirect(start, "/media/1.mp4", allow_private=False, resolver=dns)
        == "https://site.example.com/media/1.mp4"
    )
    for location in (
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:6379/",
        "file:///etc/passwd",
    ):
        with pytest.raises((PrivateAddressError, UnsupportedLinkError)):
            check_redirect(start, location, allow_private=False, resolver=dns)


async def test_ensure_public_url_refuses_loopback() -> None:
    with pytest.raises(PrivateAddressError):
        await ensure_public_url("http://127.0.0.1:1/", allow_private=False)
    await ensure_public_url("http://127.0.0.1:1/", allow_private=True)
