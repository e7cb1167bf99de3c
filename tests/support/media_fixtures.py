"""Media fixtures: sources made with ffmpeg, served by a loopback HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.media import MediaSources, link_media_tree
from tests.support.media_server import MediaServer


@pytest.fixture(scope="session")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    """The loopback media server of this session, serving the generated sources."""
    tree = tmp_path_factory.mktemp("media")
    try:
        link_media_tree(tree)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    with MediaServer(tree) as server:
        yield server


@pytest.fixture(scope="session")
def media(media_server: MediaServer) -> MediaSources:
    """URLs (and files) of the generated sources."""
    return MediaSources.served_at(media_server.base_url, media_server.root)


@pytest.fixture
def media_requests(media_server: MediaServer) -> Iterator[MediaServer]:
    """The media server with an empty request log; synthetic routes added are removed after."""
    media_server.reset()
    yield media_server
    media_server.clear_routes()
    media_server.reset()


@pytest.fixture
def trap(media_requests: MediaServer) -> Iterator[MediaServer]:
    """A server on 127.0.0.2, at the media server's port, serving the same files: a link
    rewritten to 127.0.0.2 stands for a private address, and any request that reaches this
    server went around the private-network guard."""
    port = int(media_requests.base_url.rsplit(":", 1)[1])
    with MediaServer(media_requests.root, host="127.0.0.2", port=port) as server:
        yield server
