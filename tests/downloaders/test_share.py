"""Instagram share links: followed through the guard to the post they stand for.

The share link's host is Instagram's real name, resolved to the loopback media server by
the guard's resolver (the seam tests use instead of DNS); every hop goes through the guard
proxy like any other request, and the walk stops at the first link that names a post.
"""

from __future__ import annotations

import pytest

from mediabot.downloaders import DownloadOptions, NotFoundError, PrivateAddressError
from mediabot.downloaders.share import MAX_HOPS
from mediabot.downloaders.sites.instagram import InstagramDownloader
from tests.downloaders.recorded import load, recorded
from tests.support.media_server import MediaServer

CODE = "C8xYz12AbCd"
POST = f"https://www.instagram.com/reel/{CODE}/?igsh=MWQ1"


def _resolver(host: str, port: int) -> list[str]:
    return {"www.instagram.com": ["127.0.0.1"], "internal.example": ["10.1.2.3"]}[host]


OPTIONS = DownloadOptions(allow_private_urls=True, resolver=_resolver)
GUARDED = DownloadOptions(allowed_private_networks=("127.0.0.1/32",), resolver=_resolver)


def _share_url(server: MediaServer, path: str) -> str:
    """`path` on the media server, by Instagram's name (the resolver's loopback)."""
    return f"http://www.instagram.com:{server.base_url.rsplit(':', 1)[1]}{path}"


@pytest.fixture
def server(media_requests: MediaServer) -> MediaServer:
    return media_requests


def _reel() -> type[InstagramDownloader]:
    info = load("instagram_reel")
    info["id"] = CODE
    return recorded(InstagramDownloader, info)  # type: ignore[return-value]


async def test_a_share_link_is_followed_hop_by_hop_to_its_post(server: MediaServer) -> None:
    server.add_route(
        "/share/reel/BAGtoken1", status=302, headers={"Location": "/share/r/BAGtoken2"}
    )
    server.add_route("/share/r/BAGtoken2", status=301, headers={"Location": POST})
    cls = _reel()
    media = await cls.get_resolutions(_share_url(server, "/share/reel/BAGtoken1"), OPTIONS)

    assert media.media_key == f"instagram:{CODE}"
    # the post itself was extracted, by its canonical URL; Instagram was never asked for it
    assert cls.extracted == [f"https://www.instagram.com/p/{CODE}/"]  # type: ignore[attr-defined]
    assert server.request_count("/share/") == 2


async def test_a_login_page_in_between_gives_the_post_it_would_return_to(
    server: MediaServer,
) -> None:
    login = f"https://www.instagram.com/accounts/login/?next=%2Freel%2F{CODE}%2F"
    server.add_route("/share/BAGlogin", status=302, headers={"Location": login})
    cls = _reel()
    media = await cls.get_resolutions(_share_url(server, "/share/BAGlogin"), OPTIONS)
    assert media.media_key == f"instagram:{CODE}"


async def test_a_hop_to_a_private_address_is_refused_by_the_guard(server: MediaServer) -> None:
    server.add_route(
        "/share/reel/BAGevil",
        status=302,
        headers={"Location": "http://internal.example/share/reel/BAGnext"},
    )
    cls = _reel()
    with pytest.raises(PrivateAddressError):
        await cls.get_resolutions(_share_url(server, "/share/reel/BAGevil"), GUARDED)
    assert cls.extracted == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("answer", ["page", "loop"])
async def test_a_share_link_that_leads_nowhere_says_so(server: MediaServer, answer: str) -> None:
    if answer == "page":
        server.add_route("/share/reel/BAGpage", body="<html>a page</html>")
        path = "/share/reel/BAGpage"
    else:
        server.add_route(
            "/share/reel/BAGloop", status=302, headers={"Location": "/share/reel/BAGloop"}
        )
        path = "/share/reel/BAGloop"
    cls = _reel()
    with pytest.raises(NotFoundError, match="share link"):
        await cls.get_resolutions(_share_url(server, path), OPTIONS)
    assert cls.extracted == []  # type: ignore[attr-defined]
    assert server.request_count(path) == (1 if answer == "page" else MAX_HOPS)
