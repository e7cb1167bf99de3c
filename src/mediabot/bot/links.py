"""Finding the links in a message."""

from __future__ import annotations

import re

from aiogram.types import Message

# Any scheme, so that file:// and friends are refused with a reason instead of ignored.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»\"'"


def extract_links(message: Message, limit: int) -> tuple[list[str], bool]:
    """The distinct links of a message in order (text links included), and whether more were cut."""
    text = message.text or message.caption or ""
    found: list[str] = []
    for entity in message.entities or message.caption_entities or []:
        if entity.type == "text_link" and entity.url:
            found.append(entity.url)
    found.extend(match.group(0).rstrip(_TRAILING) for match in _URL.finditer(text))
    distinct = list(dict.fromkeys(found))
    return distinct[:limit], len(distinct) > limit
