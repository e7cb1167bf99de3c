"""Which IP addresses the private-network guard lets a request connect to."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Iterable[str]]
"""`(host, port) -> textual IP addresses` (blocking); tests pass a fake one instead of DNS."""


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


def parse_address(host: str) -> IPAddress | None:
    """`host` as an IP address when it is a literal (brackets and zone ids allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """What the guard lets through: public addresses, plus `allowed_networks`.

    `allow_private` turns the address check off (tests against loopback servers); the
    proxy still carries every request, so metering and cancellation work the same.
    `upstream_proxy` (`http://[user:password@]host:port`): a connection the guard allows
    goes on through that proxy, to the address the guard checked.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)
    upstream_proxy: str | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        *,
        allow_private: bool = False,
        allowed_networks: Iterable[str] = (),
        resolver: Resolver | None = None,
        upstream_proxy: str | None = None,
    ) -> GuardPolicy:
        """A policy from settings-style values (`"10.1.2.3"`, `"192.168.5.0/24"`)."""
        networks = tuple(
            ipaddress.ip_network(text.strip(), strict=False) for text in allowed_networks
        )
        return cls(allow_private, networks, resolver or system_resolver, upstream_proxy or None)

    def permits(self, address: IPAddress) -> bool:
        """Whether a connection to `address` is allowed."""
        if self.allow_private or is_public_address(address):
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_networks)
