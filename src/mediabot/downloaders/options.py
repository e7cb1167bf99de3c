"""The knobs a download takes, read once from the settings and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from mediabot.config import Settings
from mediabot.domain.enums import Provider
from mediabot.net.addresses import GuardPolicy, Resolver


@dataclass(frozen=True, slots=True)
class DownloadOptions:
    """Limits and credentials for one download.

    Each downloader class picks its own provider's cookies file (`youtube_cookies_file`,
    `instagram_cookies_file`).
    `max_duration_s=None` lifts the duration limit. `allowed_private_networks` are networks
    the private-network guard treats as public; `resolver` replaces DNS (tests). A lookup
    ends after `lookup_timeout_s` whatever the server does; a transfer that receives no
    byte for `stall_timeout_s`, or less than `min_transfer_kbps` KB/s over
    `min_transfer_window_s`, is abandoned (`StalledError`).
    `proxy_url` is the upstream proxy every request of a download goes through after the
    guard's checks; `youtube_proxy_url` and `instagram_proxy_url` replace it for their site.
    `youtube_pot_provider_url` is the operator's PO-token provider (bgutil's HTTP server).
    """

    allow_private_urls: bool = False
    max_duration_s: int | None = 180 * 60
    youtube_cookies_file: Path | None = None
    instagram_cookies_file: Path | None = None
    allowed_private_networks: tuple[str, ...] = ()
    lookup_timeout_s: float = 90.0
    stall_timeout_s: float = 30.0
    min_transfer_kbps: float = 4.0
    min_transfer_window_s: float = 60.0
    proxy_url: str | None = field(default=None, repr=False)
    youtube_proxy_url: str | None = field(default=None, repr=False)
    instagram_proxy_url: str | None = field(default=None, repr=False)
    youtube_pot_provider_url: str | None = None
    resolver: Resolver | None = field(default=None, compare=False, repr=False)

    def proxy_for(self, provider: Provider | None) -> str | None:
        """The upstream proxy for requests made on behalf of `provider`'s links, or None."""
        site = (
            {
                Provider.YOUTUBE: self.youtube_proxy_url,
                Provider.INSTAGRAM: self.instagram_proxy_url,
            }.get(provider)
            if provider is not None
            else None
        )
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
            youtube_cookies_file=settings.youtube_cookies_file,
            instagram_cookies_file=settings.instagram_cookies_file,
            allowed_private_networks=tuple(settings.allowed_private_networks),
            lookup_timeout_s=settings.lookup_timeout_s,
            stall_timeout_s=settings.stall_timeout_s,
            min_transfer_kbps=settings.min_transfer_kbps,
            min_transfer_window_s=settings.min_transfer_window_s,
            proxy_url=_secret(settings.proxy_url),
            youtube_proxy_url=_secret(settings.youtube_proxy_url),
            instagram_proxy_url=_secret(settings.instagram_proxy_url),
            youtube_pot_provider_url=settings.youtube_pot_provider_url,
        )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
