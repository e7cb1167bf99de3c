"""Making outside data (URLs, titles, uploader names, file names) safe for Telegram.

Every text mediabot builds from data it did not write goes through here:

- `plain` strips what must never reach a chat or a file name: control characters (C0,
  DEL, C1), whole terminal escape sequences (``ESC [ 31 m``, OSC titles, …), the
  bidirectional override, embedding, isolate and mark characters that can make a
  name read backwards (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), and the
  zero-width characters that hide inside a name or make an empty one look filled
  (U+200B, U+2060–U+2064, U+FEFF). The zero-width joiner and non-joiner (U+200D,
  U+200C) are kept only where they join: between two visible non-ASCII characters, as
  in an emoji sequence (👨‍👩‍👧) or a Persian or Indic word; anywhere else they go.
- `cut` shortens plain text to a limit counted the way Telegram counts: UTF-16 code
  units of the text after entity parsing. A cut text ends in "…" (counted too).
- `safe_html` is `plain`, then `cut`, then HTML-escaped for ``parse_mode=HTML``. The
  cut happens before the escape, so it can never split an entity such as ``&amp;``,
  and the limit applies to what the user sees, as Telegram counts it.
- `fill_html` puts outside values into one of our HTML templates and cuts the values
  (longest first) so that the whole message fits its limit.
- `file_name` is a plain, filesystem-safe name for an upload, shown to users as is.

Python strings hold code points, so a cut never splits a surrogate pair: a character
outside the Basic Multilingual Plane is kept or dropped whole (it counts 2).
"""

from __future__ import annotations

import html
import re
import unicodedata

from mediabot.domain.invisible import BIDI, INVISIBLE, JOINERS, ZERO_WIDTH

MESSAGE_LIMIT = 4096
"""Telegram's limit on a message's text, in UTF-16 code units after entity parsing."""
CAPTION_LIMIT = 1024
"""Telegram's limit on a media caption, counted like `MESSAGE_LIMIT`."""
CALLBACK_DATA_LIMIT = 64
"""Telegram's limit on a button's callback data, in bytes (UTF-8)."""
CALLBACK_ANSWER_LIMIT = 200
"""Telegram's limit on the text of an answer to a button press (answerCallbackQuery)."""
FILE_NAME_BYTES = 120
"""Longest file name stem we upload, in UTF-8 bytes (file systems allow 255)."""

ELLIPSIS = "…"

_ESCAPE_SEQUENCE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI: colours, cursor moves, screen clears
    | \x9b[0-?]*[ -/]*[@-~]            # the same with the one-byte C1 introducer
    | \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?   # OSC: window titles, hyperlinks
    | \x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?        # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                 # any other escape (and a lone ESC)
    """,
    re.VERBOSE,
)
_JOINABLE = f"[^\\x00-\\x9f\\s{INVISIBLE}]"
_UNWANTED = re.compile(
    f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI}{ZERO_WIDTH}]"
    f"|(?<!{_JOINABLE})[{JOINERS}]|[{JOINERS}](?!{_JOINABLE})"
)
"""Control characters except tab and newline, bidirectional controls, zero-width
characters, and a joiner without a visible non-ASCII character on each side."""
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|]')
_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")


def plain(text: str | None, limit: int | None = None) -> str:
    """`text` without control characters, escape sequences, bidi controls and zero-width
    characters (see the module's notes); cut to `limit`.

    Tabs and newlines stay. `None` becomes "". The result is not HTML-escaped: use it
    for texts sent without a parse mode, and for names.
    """
    if not text:
        return ""
    cleaned = _UNWANTED.sub("", _ESCAPE_SEQUENCE.sub("", text))
    return cut(cleaned, limit) if limit is not None else cleaned


def utf16_length(text: str) -> int:
    """The length of `text` as Telegram counts it: UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` UTF-16 units, else its start and "…", within `limit`."""
    if utf16_length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    room = limit - utf16_length(ELLIPSIS)
    used = 0
    end = 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is used after the loop
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > room:
            break
        used += width
    return text[:end].rstrip() + ELLIPSIS


def safe_html(text: str | None, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cleaned (`plain`), cut to `limit` visible UTF-16 units, then HTML-escaped."""
    return html.escape(plain(text, limit), quote=False)


def visible_length(html_text: str) -> int:
    """The UTF-16 length Telegram counts for `html_text` (tags removed, entities decoded)."""
    return utf16_length(html.unescape(_TAG.sub("", html_text)))


def fill_html(template: str, limit: int = MESSAGE_LIMIT, **values: str | None) -> str:
    """`template` (our HTML, with ``{name}`` fields) filled with outside `values`, safely.

    Each value is cleaned and escaped; when the whole would be longer than `limit`
    (counted as Telegram counts the visible text), the longest values are cut first, so
    short ones (a title next to a huge URL) survive whole.
    """
    cleaned = {name: plain(value) for name, value in values.items()}
    room = limit - visible_length(template.format(**dict.fromkeys(values, "")))
    lengths = {name: utf16_length(value) for name, value in cleaned.items()}
    if sum(lengths.values()) > room:
        cap = _fair_cap(sorted(lengths.values()), max(room, 0))
        cleaned = {name: cut(value, cap) for name, value in cleaned.items()}
    return template.format(
        **{name: html.escape(value, quote=False) for name, value in cleaned.items()}
    )


def _fair_cap(lengths: list[int], room: int) -> int:
    """The largest cap such that the values, each cut to at most cap, fit in `room`."""
    remaining = room
    for position, length in enumerate(lengths):
        share = remaining // (len(lengths) - position)
        if length > share:
            return share
        remaining -= length
    return room


def file_name(title: str | None, ext: str, *, fallback: str = "file") -> str:
    """A plain, filesystem-safe name for an upload: "<title>.<ext>", shown to users as is.

    Control, escape, bidi and zero-width characters are dropped, separators and other characters
    file systems refuse become "_", the stem is cut to `FILE_NAME_BYTES` UTF-8 bytes
    (whole characters), and a title with nothing left gives `fallback`.
    """
    stem = unicodedata.normalize("NFC", plain(title))
    stem = _SPACES.sub(" ", _UNSAFE_IN_NAME.sub("_", stem)).strip(" .")
    encoded = stem.encode()
    if len(encoded) > FILE_NAME_BYTES:
        stem = encoded[:FILE_NAME_BYTES].decode(errors="ignore").rstrip(" .")
    stem = stem or fallback
    suffix = re.sub(r"[^0-9A-Za-z]", "", ext)
    return f"{stem}.{suffix}" if suffix else stem
