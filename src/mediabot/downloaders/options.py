"""The knobs a download takes, read once from the settings and passed in."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from mediabot.config import Settings
from mediabot.domain.enums import Provider
from mediabot.net.addresses import GuardPolicy, Resolver

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class DownloadOptions:
    """Limits and credentials for one download.

    `cookies_files` holds each site's cookies file by provider name (a site's downloader
    class picks its own); `site_proxy_urls` each site's upstream proxy, which replaces
    `proxy_url` for that site's requests.
    `max_duration_s=None` lifts the duration limit. `allowed_private_networks` are networks
    the private-network guard treats as public; `resolver` replaces DNS (tests). A lookup
    ends after `lookup_timeout_s` whatever the server does; a transfer that receives no
    byte for `stall_timeout_s`, or less than `min_transfer_kbps` KB/s over
    `min_transfer_window_s`, is abandoned (`StalledError`).
    `proxy_url` is the upstream proxy every request of a download goes through after the
    guard's checks.
    `youtube_pot_provider_url` is the operator's PO-token provider (bgutil's HTTP server).
    """

    allow_private_urls: bool = False
    max_duration_s: int | None = 180 * 60
    cookies_files: Mapping[str, Path] = field(default_factory=dict)
    allowed_private_networks: tuple[str, ...] = ()
    lookup_timeout_s: float = 90.0
    stall_timeout_s: float = 30.0
    min_transfer_kbps: float = 4.0
    min_transfer_window_s: float = 60.0
    proxy_url: str | None = field(default=None, repr=False)
    site_proxy_urls: Mapping[str, str] = field(default_factory=dict, repr=False)
    youtube_pot_provider_url: str | None = None
    resolver: Resolver | None = field(default=None, compare=False, repr=False)

    def proxy_for(self, provider: Provider | None) -> str | None:
        """The upstream proxy for requests made on behalf of `provider`'s links, or None."""
        site = self.site_proxy_urls.get(provider) if provider is not None else None
        return site or self.proxy_url

    def guard_policy(self, provider: Provider | None = None) -> GuardPolicy:
        """The private-network guard's policy for these options (and `provider`'s proxy)."""
        return GuardPolicy.build(
            allow_private=self.allow_private_urls,
            allowed_networks=self.allowed_private_networks,
            resolver=self.resolver,
            upstream_proxy=self.proxy_for(provider),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DownloadOptions:
        return cls(
            allow_private_urls=settings.allow_private_urls,
            max_duration_s=settings.max_duration_s,
            cookies_files=_per_site(settings, _COOKIES_FILE, lambda path: path),
            allowed_private_networks=tuple(settings.allowed_private_networks),
            lookup_timeout_s=settings.lookup_timeout_s,
            stall_timeout_s=settings.stall_timeout_s,
            min_transfer_kbps=settings.min_transfer_kbps,
            min_transfer_window_s=settings.min_transfer_window_s,
            proxy_url=_secret(settings.proxy_url),
            site_proxy_urls=_per_site(settings, _PROXY_URL, _secret),
            youtube_pot_provider_url=settings.youtube_pot_provider_url,
        )


_COOKIES_FILE = re.compile(r"(?P<site>[a-z0-9_]+)_cookies_file")
_PROXY_URL = re.compile(r"(?P<site>[a-z0-9_]+)_proxy_url")


def _per_site(
    settings: Settings, name: re.Pattern[str], value_of: Callable[[Any], _V | None]
) -> dict[str, _V]:
    """The settings named `<site>_<what>` (`youtube_cookies_file`), set, by site name: a
    site's setting is found by its provider's name, with no list of sites here."""
    found: dict[str, _V] = {}
    for field_name in type(settings).model_fields:
        match = name.fullmatch(field_name)
        value = value_of(getattr(settings, field_name)) if match else None
        if match and value is not None:
            found[match["site"]] = value
    return found


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
