"""Finding the links in a message, as people paste them.

Telegram marks every link it sees as an entity: `text_link` (a link behind words) and `url`
(a link in the text, with or without `https://`). Links are read from those entities, then
from the text itself (a caption or a message whose entities went missing). Each is cleaned
the way a person means it: `url1,url2` is two links, a closing quote, an ellipsis or an emoji
stuck to the end is not part of it, and a link without a scheme gets `https://`. Its scheme
and host are put in lower case (`HTTPS://YOUTU.BE/…`, a phone's `Youtu.be/…`) before
anything reads it, so that every later step sees one spelling. Telling two forms of one
video apart (`youtu.be/ID` and `youtube.com/watch?v=ID&t=5`) takes the downloaders, which
the bot does not load: the lookup folds them into one offer (`worker/lookup_replies.py`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message

from mediabot.domain.clips import Clip, ClipRangeError, clip_in_message
from mediabot.domain.links import normalise_link

MAX_LINKS = 5
"""Links of one message looked up at most; the rest are refused with a line."""

# Any scheme, so that file:// and friends are refused with a reason instead of ignored.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s<>\"']+", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{1,15}://", re.IGNORECASE)
_NEXT_LINK = re.compile(
    r",(?=[a-z][a-z0-9+.-]{1,15}://|(?:[a-z0-9-]+\.)+[a-z]{2,}/)", re.IGNORECASE
)
"""A comma that starts another link (`url1,url2`); commas inside a query stay."""
_TRAILING = ".,;:!?)]}»\"'”’“‘…"
_NOT_IN_A_LINK = frozenset({"So", "Sk", "Cc", "Cs", "Co", "Cf", "Zs", "Pi", "Pf"})
"""Unicode categories a pasted link never holds raw (emoji, symbols, typographic quotes,
control characters)."""
_HOST = re.compile(
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}\.?(?::\d{1,5})?"
    r"|\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?"
)
"""A host as a person writes it without a scheme: a name with a top-level domain of
letters (any script), or an IPv4 address; a port may follow."""


def extract_links(message: Message, limit: int) -> tuple[list[str], bool]:
    """The distinct links of a message in order, and whether more were cut.

    Distinct means spelled differently once normalised (`domain.links.normalise_link`).
    """
    text = message.text or message.caption or ""
    found: list[tuple[int, str]] = []  # (where in the text, link)
    for entity in message.entities or message.caption_entities or []:
        where = _index_of_utf16_offset(text, entity.offset)
        if entity.type == "text_link" and entity.url:
            found.append((where, entity.url))
        elif entity.type == "url":
            parts = _cleaned(entity.extract_from(text))
            found.extend((where, _with_scheme(part)) for part in parts)
    for match in _URL.finditer(text):
        found.extend((match.start(), part) for part in _cleaned(match.group(0)))
    distinct: dict[str, str] = {}
    for _where, url in sorted(found, key=lambda item: item[0]):
        if url:
            link = normalise_link(url)
            distinct.setdefault(link, link)
    links = list(distinct.values())
    return links[:limit], len(links) > limit


def links_in_text(text: str, limit: int) -> tuple[list[str], bool]:
    """The distinct links of a plain text (a list of links sent as a file), in order, and
    whether more were cut; each word is read as a pasted link (with or without a scheme)."""
    distinct: dict[str, str] = {}
    for word in text.split():
        for part in _cleaned(word):
            link = _with_scheme(part)
            if link:
                normalised = normalise_link(link)
                distinct.setdefault(normalised, normalised)
    links = list(distinct.values())
    return links[:limit], len(links) > limit


def clips_of(text: str, urls: list[str]) -> tuple[list[Clip | None], ClipRangeError | None]:
    """The clip each link asks for (`domain.clips.clip_in_message` on the link's own line,
    else the whole text), and the first refusal of a range written but not cuttable: a
    link whose range is refused asks for the whole video."""
    lines = text.splitlines() or [text]
    clips: list[Clip | None] = []
    refusal: ClipRangeError | None = None
    for url in urls:
        line = next((line for line in lines if _bare(url) in line.lower()), text)
        try:
            clips.append(clip_in_message(line, url))
        except ClipRangeError as exc:
            refusal = refusal or exc
            clips.append(None)
    return clips, refusal


def _bare(url: str) -> str:
    """A link as it may be written: without its scheme, lower case."""
    return _SCHEME.sub("", url).lower()


def first_link(text: str) -> str | None:
    """The first link of a plain text (an inline query), cleaned like a message's."""
    for word in text.split():
        for part in _cleaned(word):
            link = _with_scheme(part)
            if link:
                return normalise_link(link)
    return None


def _index_of_utf16_offset(text: str, offset: int) -> int:
    """The index in `text` of Telegram's `offset` (counted in UTF-16 code units)."""
    units = 0
    for index, char in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _cleaned(candidate: str) -> list[str]:
    """The links in one run of text without spaces: split at `,link`, cut at an emoji."""
    links = []
    for part in _NEXT_LINK.split(candidate):
        end = next(
            (i for i, char in enumerate(part) if unicodedata.category(char) in _NOT_IN_A_LINK),
            len(part),
        )
        link = part[:end].rstrip(_TRAILING)
        if link:
            links.append(link)
    return links


def _with_scheme(link: str) -> str:
    """`https://` added to a link pasted without a scheme that names more than a site.

    A bare site name in a sentence ("on youtube.com") is a mention, not a request; a word
    whose part before its first slash is no host (a path, a fraction, bytes of a binary
    file read as text) is no link.
    """
    if _SCHEME.match(link):
        return link
    host, slash, rest = link.partition("/")
    if not slash or not rest.strip("/") or not _HOST.fullmatch(host):
        return ""
    return f"https://{link}"


@dataclass(frozen=True, slots=True)
class FoundLinks:
    """The links of a message (at most the limit) and whether more were cut; the clip
    each asks for and the refusal of a range that cannot be cut (`clips_of`)."""

    urls: list[str]
    truncated: bool
    clips: list[Clip | None]
    clip_refusal: ClipRangeError | None = None


class HasLinks(Filter):
    """A message with links: hands the handler `links` (`FoundLinks`)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        urls, truncated = extract_links(message, self._limit)
        if not urls:
            return False
        clips, refusal = clips_of(message.text or message.caption or "", urls)
        return {"links": FoundLinks(urls, truncated, clips, refusal)}
