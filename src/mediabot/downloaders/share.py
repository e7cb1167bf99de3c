"""Share links: followed, hop by hop through the guard proxy, to the media they stand for.

A share link (`instagram.com/share/reel/TOKEN`) carries a token, not the post's code; only
the site knows which post it is, and says so with a redirect. Each hop is a new request
through the session's guard proxy (its address checked, its upstream proxy used), and the
walk stops at the first location that names media by itself, without fetching that page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit

from mediabot.domain.links import LinkKind, RecognisedLink
from mediabot.downloaders.errors import N_, NetworkError, NotFoundError, PrivateAddressError
from mediabot.net.proxy import client_arguments

if TYPE_CHECKING:
    from mediabot.downloaders.ytdl import YtdlSession

logger = logging.getLogger(__name__)

MAX_HOPS = 8
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LOGIN_PATHS = ("/accounts/login",)
_NOT_A_POST = N_("This share link does not lead to a post; send the post's own link.")

Recognise = Callable[[str], RecognisedLink | None]


async def follow_share_link(url: str, session: YtdlSession, recognise: Recognise) -> str:
    """The link `url` redirects to that names its media (as `recognise` tells).

    Raises `PrivateAddressError` when the guard refuses a hop, `NotFoundError` when the
    walk ends anywhere else (a page, a loop, too many hops), `NetworkError` when the site
    cannot be reached.
    """
    import aiohttp  # only share links need it: `mediabot formats` stays light

    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=30, sock_read=session.options.stall_timeout_s
    )
    guard = session.guard
    current = url
    async with aiohttp.ClientSession(timeout=timeout) as client:
        for _ in range(MAX_HOPS):
            session.precheck(current)
            before = guard.refusal_count
            try:
                async with client.get(
                    current, allow_redirects=False, **client_arguments(guard.url, current)
                ) as answer:
                    status, location = answer.status, answer.headers.get("Location")
            except aiohttp.ClientError as exc:
                if guard.refusal_count > before:
                    raise PrivateAddressError(detail=f"guard refused a hop of {url}") from exc
                raise NetworkError(detail=f"following {current}: {exc}") from exc
            if guard.refusal_count > before:
                raise PrivateAddressError(detail=f"guard refused {current}")
            if status not in _REDIRECTS or not location:
                raise NotFoundError(_NOT_A_POST, detail=f"{current} answered {status}")
            current = _login_target(urljoin(current, location))
            link = recognise(current)
            if link is not None and link.kind is not LinkKind.SHARE:
                logger.info("Share link %s leads to %s", url, current)
                return link.url
    raise NotFoundError(_NOT_A_POST, detail=f"{url}: no media after {MAX_HOPS} hops")


def _login_target(url: str) -> str:
    """Where a login page would send the user back to (`?next=/reel/CODE/`), else `url`."""
    parts = urlsplit(url)
    if not parts.path.startswith(_LOGIN_PATHS):
        return url
    target = (parse_qs(parts.query).get("next") or [""])[0]
    return urljoin(url, target) if target.startswith("/") else url
