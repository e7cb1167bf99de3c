"""What a link is, told from the URL alone (no network)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mediabot.domain.enums import Provider

_SCHEME_AND_AUTHORITY = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*:)(?P<slashes>//)?(?P<authority>[^/?#]*)", re.IGNORECASE
)


def normalise_link(url: str) -> str:
    """`url` with its scheme and host in lower case: the way links are compared, looked up
    and stored.

    Both are case-insensitive (RFC 3986), and phones capitalise a typed `Youtu.be/…`;
    the site patterns that tell one video from another expect lower case. Everything
    else is kept as it came: a user name and password, the port, and the path, query and
    fragment, whose case is the site's to read (`watch?v=dQw4w9WgXcQ`).
    """
    match = _SCHEME_AND_AUTHORITY.match(url)
    if match is None:
        return url
    scheme, slashes, authority = match["scheme"], match["slashes"] or "", match["authority"]
    if slashes:  # only a URL with an authority has a host (`mailto:Ann@…` has none)
        credentials, at, host_and_port = authority.rpartition("@")
        authority = f"{credentials}{at}{host_and_port.lower()}"  # a port is digits
    return f"{scheme.lower()}{slashes}{authority}{url[match.end() :]}"


class LinkKind(StrEnum):
    """What a recognised link points at.

    `VIDEO`: one piece of media whose key the URL tells (`media_key` is set).
    `VIDEO_IN_PLAYLIST`: a video opened from a playlist (`media_key` and `playlist_id` set).
    `PLAYLIST`: a playlist, a channel or one of its tabs, a profile (`playlist_id` set).
    `SHARE`: a share link whose target is known only by following its redirect.
    `PAGE`: anything else; what it holds is known only after extraction.
    """

    VIDEO = "video"
    VIDEO_IN_PLAYLIST = "video_in_playlist"
    PLAYLIST = "playlist"
    SHARE = "share"
    PAGE = "page"


@dataclass(frozen=True, slots=True)
class RecognisedLink:
    """One link as the downloaders see it: who takes it, what it is, its canonical key.

    `url` is the link to hand on (an attribution link unwrapped, a host alias mapped), and
    `identity` is what makes two links the same request: the media key when the URL tells
    it, else the URL itself.
    """

    url: str
    provider: Provider
    kind: LinkKind
    media_key: str | None = None
    playlist_id: str | None = None

    @property
    def identity(self) -> str:
        """Equal for two links that name the same media (or the same page)."""
        if self.media_key is not None and self.kind is not LinkKind.PLAYLIST:
            return self.media_key
        if self.playlist_id is not None:
            return f"{self.provider}:playlist:{self.playlist_id}"
        return self.url
