"""The private-network guard: links to local or private addresses are refused before any request.

A server-side downloader is a classic SSRF vector: a link to `http://169.254.169.254/` or to a
DNS name that resolves to `10.0.0.5` would make the bot fetch from the operator's own network.
Every URL yt-dlp is about to request, including each redirect hop, passes `check_url` first.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urljoin, urlsplit

from mediabot.downloaders.errors import (
    NetworkError,
    NotFoundError,
    PrivateAddressError,
    UnsupportedLinkError,
)

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
"""`(host, port) -> textual IP addresses`; tests pass a fake one instead of DNS."""

_WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (blocking: call it from a thread)."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses.

    IPv6 forms that embed an IPv4 address (mapped `::ffff:a.b.c.d`, 6to4) are judged by the
    embedded address, so `::ffff:127.0.0.1` is as private as `127.0.0.1`.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    return address.is_global


def check_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
    """Refuse `url` unless it is http(s) to a host whose every address is public.

    Raises `UnsupportedLinkError` for other schemes (`file://`, `ftp://`...) and malformed
    links, `PrivateAddressError` for local/private targets (unless `allow_private`),
    `NotFoundError` / `NetworkError` when the name does not resolve. Blocking when the host
    is a name: it resolves it.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise UnsupportedLinkError(detail=f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == "file":
        raise PrivateAddressError("Links to local files are refused.", detail=f"file URL {url!r}")
    if scheme not in _WEB_SCHEMES or not host:
        raise UnsupportedLinkError(detail=f"not an http(s) URL: {url!r}")
    if allow_private:
        return
    literal = _parse_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        addresses = _resolve(host, port or _DEFAULT_PORTS[scheme], resolver)
    for address in addresses:
        if not is_public_address(address):
            logger.warning("Refused %s: host %s is the non-public address %s", url, host, address)
            raise PrivateAddressError(detail=f"{host} resolves to non-public address {address}")


def check_redirect(
    current_url: str, location: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> str:
    """Validate a redirect from `current_url` to `location`; return the absolute target."""
    target = urljoin(current_url, location)
    check_url(target, allow_private=allow_private, resolver=resolver)
    return target


async def ensure_public_url(url: str, *, allow_private: bool) -> None:
    """`check_url` without blocking the event loop (DNS runs in a thread)."""
    await asyncio.to_thread(check_url, url, allow_private=allow_private)


def _parse_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        texts = list(resolver(host, port))
    except UnicodeError as exc:
        raise UnsupportedLinkError(detail=f"bad host name {host!r}: {exc}") from None
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None)):
            raise NetworkError(detail=f"cannot resolve {host}: {exc}") from None
        raise NotFoundError(
            "This site could not be found; check the link.", detail=f"cannot resolve {host}: {exc}"
        ) from None
    if not texts:
        raise NotFoundError("This site could not be found; check the link.", detail=host)
    addresses = []
    for text in texts:
        address = _parse_address(text)
        if address is None:
            raise PrivateAddressError(detail=f"{host} resolved to unparsable address {text!r}")
        addresses.append(address)
    return addresses
