"""The private-network guard: links to local or private addresses are refused before any request.

A server-side downloader is a classic SSRF vector: a link to `http://169.254.169.254/` or to a
DNS name that resolves to `10.0.0.5` would make the bot fetch from the operator's own network.
`check_url` judges a link before any work starts; the guard proxy (`mediabot.net.proxy`)
enforces the same rule on every connection any component makes, at the address it connects to.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urljoin, urlsplit

from mediabot.downloaders.errors import (
    N_,
    NetworkError,
    NotFoundError,
    PrivateAddressError,
    UnsupportedLinkError,
)
from mediabot.net.addresses import (
    IPAddress,
    Resolver,
    is_public_address,
    parse_address,
    system_resolver,
)

logger = logging.getLogger(__name__)

_WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
        raise PrivateAddressError(
            N_("Links to local files are refused."), detail=f"file URL {url!r}"
        )
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
    return parse_address(host)


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        texts = list(resolver(host, port))
    except UnicodeError as exc:
        raise UnsupportedLinkError(detail=f"bad host name {host!r}: {exc}") from None
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None)):
            raise NetworkError(detail=f"cannot resolve {host}: {exc}") from None
        raise NotFoundError(
            N_("This site could not be found; check the link."),
            detail=f"cannot resolve {host}: {exc}",
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


__all__ = [
    "IPAddress",
    "Resolver",
    "check_redirect",
    "check_url",
    "ensure_public_url",
    "is_public_address",
    "system_resolver",
]
