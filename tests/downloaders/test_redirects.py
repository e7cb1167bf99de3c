"""Redirect chains: followed up to the limit, told as too many past it, guarded throughout.

Every test runs with the guard on (127.0.0.1/32 stands for a public host).
"""

from __future__ import annotations

import pytest

from mediabot.downloaders import DownloadOptions, PrivateAddressError, get_resolutions
from mediabot.downloaders.errors import TooManyRedirectsError
from mediabot.downloaders.requests_tuning import MAX_REDIRECTS
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

GUARDED = DownloadOptions(allow_private_urls=False, allowed_private_networks=("127.0.0.1/32",))


def _chain(server: MediaServer, name: str, hops: int, target: str) -> str:
    """`hops` redirects, one after the other, ending at `target`; the first one's URL."""
    for hop in range(hops, 0, -1):
        target = server.add_redirect(f"/{name}/{hop}", target)
    return target


async def test_thirty_redirects_are_told_as_too_many(
    media: MediaSources, media_requests: MediaServer
) -> None:
    with pytest.raises(TooManyRedirectsError) as caught:
        await get_resolutions(_chain(media_requests, "hops30", 30, media.progressive_mp4), GUARDED)
    assert "redirects too many times" in caught.value.user_message


async def test_a_chain_up_to_the_limit_is_followed(
    media: MediaSources, media_requests: MediaServer
) -> None:
    link = _chain(media_requests, "hops", MAX_REDIRECTS, media.progressive_mp4)
    offer = await get_resolutions(link, GUARDED)
    assert [r.height for r in offer.resolutions] == [360]


async def test_a_chain_ending_on_a_private_address_is_refused_unreached(
    media: MediaSources, media_requests: MediaServer, trap: MediaServer
) -> None:
    private = media.progressive_mp4.replace("127.0.0.1", "127.0.0.2")
    with pytest.raises(PrivateAddressError):
        await get_resolutions(_chain(media_requests, "private", 3, private), GUARDED)
    assert trap.requests == []
