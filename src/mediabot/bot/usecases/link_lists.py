"""A list of links sent as a `.txt` file, read like a message of links.

The file is small by rule (`LIST_MAX_BYTES`: a list of links, not a document), decoded as
UTF-16 or UTF-32 by their byte order mark, UTF-8 (with or without one) or else Latin-1,
which reads any byte, and its links (one per line, with or without a scheme; a clip range
on a link's line asks for that clip) are asked for like a message's: at most `MAX_LINKS`,
the answer saying when some were left out. The request stack applies when a choice is
pressed, as for any link.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from mediabot.bot.links import clips_of, links_in_text
from mediabot.bot.usecases.lookups import AskLookup, LinksPlace
from mediabot.domain.clips import ClipRangeError

logger = logging.getLogger(__name__)

LIST_MAX_BYTES = 64 * 1024
"""Largest file read as a list of links (some thousand links; the rest is not a list)."""
_TEXT_TYPES = frozenset({"text/plain", "text/uri-list"})


def is_link_list(file_name: str | None, mime_type: str | None) -> bool:
    """A document that may be a list of links: plain text by its type or a `.txt` name."""
    return (mime_type or "").lower() in _TEXT_TYPES or (file_name or "").lower().endswith(".txt")


_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_list(data: bytes) -> str:
    """The text of a list: UTF-16 or UTF-32 when a byte order mark says so (Windows
    Notepad's "Unicode"), else UTF-8 (a byte order mark dropped), else Latin-1."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            with contextlib.suppress(UnicodeDecodeError):
                return data.decode(encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class ListProblem(StrEnum):
    """Why a list was not asked for."""

    TOO_BIG = "too_big"
    NO_LINKS = "no_links"
    UNREADABLE = "unreadable"
    """Telegram did not hand the file over."""


@dataclass(frozen=True, slots=True)
class ListAsked:
    """The list's links were asked for; `truncated`: some were left out (over the limit)."""

    count: int
    truncated: bool
    clip_refusal: ClipRangeError | None


@dataclass(frozen=True, slots=True)
class ReadLinkList:
    """Reads a list of links and asks for them (`AskLookup.for_links`)."""

    ask: AskLookup
    max_links: int
    max_bytes: int = LIST_MAX_BYTES

    async def __call__(
        self, place: LinksPlace, size: int | None, download: Callable[[], Awaitable[bytes]]
    ) -> ListAsked | ListProblem:
        """Ask for the links of the file of `size` bytes that `download` gives."""
        if size is not None and size > self.max_bytes:
            return ListProblem.TOO_BIG
        try:
            data = await download()
        except Exception:  # whatever Telegram or the network raised: the user hears of it
            logger.warning(
                "chat %s: the list could not be read", place.telegram_chat_id, exc_info=True
            )
            return ListProblem.UNREADABLE
        if len(data) > self.max_bytes:
            return ListProblem.TOO_BIG
        text = decode_list(data)
        urls, truncated = links_in_text(text, self.max_links)
        if not urls:
            return ListProblem.NO_LINKS
        clips, refusal = clips_of(text, urls)
        await self.ask.for_links(place, urls, clips)
        return ListAsked(len(urls), truncated, refusal)
