"""Web pages made by the tests: a blog post holding a `<video>` element, as small sites
embed media (yt-dlp reads it with its generic and html5 extractors)."""

from __future__ import annotations

from tests.support.media_server import MediaServer


def video_element(src: str) -> str:
    return f'<video controls width="400" src="{src}"></video>'


def blog_post(server: MediaServer, path: str, element: str) -> str:
    """Serve at `path` a blog post holding `element` (HTML); its URL."""
    return server.add_route(
        path,
        body=(
            "<html><head><title>A blog post</title></head>"
            f"<body><p>Look at this:</p>{element}</body></html>"
        ),
    )


def blog_video(server: MediaServer, path: str, src: str) -> str:
    """Serve at `path` a blog post whose `<video>` plays `src`; its URL."""
    return blog_post(server, path, video_element(src))
