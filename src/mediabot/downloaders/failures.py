"""yt-dlp's failures as the downloaders' own `DownloadError`s, with texts a person can act on.

The site's refusals of the bot itself (`SitePushBackError`) are told apart from the link's
own faults by yt-dlp's extractors' real texts, which each site class lists
(`Site.push_backs`, learnt here when the class is defined).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import GeoRestrictedError, UnsupportedError

from mediabot.downloaders import errors
from mediabot.downloaders.errors import N_, DownloadError, SitePushBackError
from mediabot.downloaders.guarded import GuardRefusalError

PushBackPattern = tuple[str, type[SitePushBackError]]
"""A site's refusal of the bot: a pattern of yt-dlp's text (case and newlines ignored) and
the error it means."""

_PUSH_BACKS: list[tuple[re.Pattern[str], type[SitePushBackError]]] = []
"""Every site's refusals of the bot (`learn_push_backs`), in the order the sites were defined."""


def learn_push_backs(patterns: Iterable[PushBackPattern]) -> None:
    """Add a site's refusals of the bot to those every translation looks for.

    Every site's are looked for in every failure, whichever site the link was: a page of
    another site may embed a YouTube video, and YouTube's refusal is then the reason.
    """
    _PUSH_BACKS.extend(
        (re.compile(pattern, re.IGNORECASE | re.DOTALL), error) for pattern, error in patterns
    )


_PATTERNS: tuple[tuple[re.Pattern[str], type[DownloadError], str | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), error, message)
    for pattern, error, message in (
        (
            r"unsupported url|no suitable extractor|is not a valid url",
            errors.UnsupportedLinkError,
            None,
        ),
        (
            r"live event will begin|premieres? in|is a live|is live|live stream",
            errors.LiveStreamError,
            None,
        ),
        (
            r"confirm your age|age.restricted|inappropriate for some users",
            errors.LoginRequiredError,
            N_("This media is age-restricted and needs a signed-in account."),
        ),
        (
            r"available in your country|geo.?restrict|from your location|"
            r"blocked it in your country",
            errors.GeoBlockedError,
            None,
        ),
        (
            r"private video|this video is private|video unavailable|has been removed|"
            r"no longer available|has been terminated|been deleted|content isn.t available|"
            r"post is unavailable|not available anymore",
            errors.PrivateOrRemovedError,
            None,
        ),
        (
            r"sign in|log ?in|login required|use --cookies|registered users|members.only|"
            r"rate.limit",
            errors.LoginRequiredError,
            None,
        ),
        (r"requested format is not available", errors.UnavailableResolutionError, None),
        (
            r"http error 40[34]|http error 410|404: not found|no video formats found|"
            r"there is no video in this post|no media found",
            errors.NotFoundError,
            None,
        ),
        (
            r"timed out|connection (?:refused|reset|aborted)|temporary failure|unreachable|"
            r"http error 5\d\d|http error 429|remote end closed|incomplete ?read|ssl|"
            r"unable to download|name resolution",
            errors.NetworkError,
            None,
        ),
    )
)


def translate_error(exc: BaseException) -> DownloadError:
    """The `DownloadError` a person should see for a yt-dlp (or guard) failure."""
    chain = list(_causes(exc))
    for link in chain:
        if isinstance(link, DownloadError):
            return link
        if isinstance(link, GuardRefusalError):
            return link.refusal
    detail = " <- ".join(str(link) for link in chain if str(link))[:2000]
    for push_back, push_back_error in _PUSH_BACKS:
        if push_back.search(detail):
            return push_back_error(detail=detail)
    for link in chain:
        if isinstance(link, GeoRestrictedError):
            return errors.GeoBlockedError(detail=detail)
        if isinstance(link, UnsupportedError):
            return errors.UnsupportedLinkError(detail=detail)
        if isinstance(link, HTTPError):
            if link.redirect_loop:  # past the HTTP client's limit (requests: 30 hops)
                return errors.TooManyRedirectsError(detail=detail)
            if link.status in (404, 410):
                return errors.NotFoundError(detail=detail)
            if link.status == 429 or link.status >= 500:
                return errors.NetworkError(detail=detail)
    for pattern, error, message in _PATTERNS:
        if pattern.search(detail):
            return error(message, detail=detail)
    if any(isinstance(link, TransportError | OSError) for link in chain):
        return errors.NetworkError(detail=detail)
    return DownloadError(detail=detail)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [
            getattr(current, "exc_info", None) and current.exc_info[1],  # type: ignore[attr-defined]
            getattr(current, "cause", None),
            current.__cause__,
            current.__context__,
        ]
        pending.extend(link for link in nested if isinstance(link, BaseException))
