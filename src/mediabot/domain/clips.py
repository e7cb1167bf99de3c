"""A part of a video a person asks for: read from a link's start time or a range in a message.

Two ways to ask, both as people write them:

- a link that starts at a time, as sites' "share at" buttons write it: `?t=90`, `&t=1m30s`,
  `#t=1h2m3s`, `t=90s`, `#t=1:30`, and `start=90` on YouTube's embed links. It asks for the
  video from there to its end. A `t` that is not a time (`?t=` is a share token on some
  sites) is not a request: the link stands for the whole video.
- a range written in the message beside the link: `1:20-2:05`, `1:20–2:05` (any dash a
  keyboard writes: en, em, figure, minus sign, full-width), `1:02:03-1:02:30`, or seconds
  `80-125`. A range wins over the link's start time.

Times are whole seconds: a cut starts at a keyframe anyway, so a fraction of a second
could not be delivered as asked, and `1.20-2.05` is as often minutes written with dots as
it is seconds. A range with a fraction, seconds or minutes of 60 and more, or more than
three fields is refused as malformed with the accepted forms named, never guessed at. A
fraction in a link's start time (a player wrote it, not a person) is dropped.

Refusals are one typed error, `ClipRangeError`, whose `problem` says which: reversed,
zero-length, malformed, starting past the end of the video (checked once its duration
is known, `Clip.within`), or asked of a playlist (known once the link is looked up). An
end past the end of the video is read as "to the end".

A clip is its own cache entry: `media_key_of` gives the key it is stored under, from which
`clip_of_media_key` gives the media and the clip back.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

_URL = re.compile(r"\S*(?:://|www\.)\S*|\S+\.[a-z]{2,}/\S*", re.IGNORECASE)
"""Words that are links (with or without a scheme): blanked before a range is looked for."""
_TIME = r"(\d[\d:.,]*\d|\d)"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
"""The hyphen-minus and what keyboards and phones put in its place: hyphens, figure, en and
em dashes, the minus sign, their small and full-width forms."""
_RANGE = re.compile(rf"(?<![{_DASHES}\w:.,/]){_TIME}\s*[{_DASHES}]\s*{_TIME}(?![{_DASHES}\w:/])")
"""Something written as a range of times: digits, colons, dots or commas either side of a
hyphen or dash. Which of these are times is for `_seconds` to judge."""
_CLOCK = re.compile(r"^\d{1,6}(?::\d{1,2}){0,2}$")
_UNITS = re.compile(r"^(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s?)?$", re.IGNORECASE)
"""YouTube's `t=`: `90`, `90s`, `1m30s`, `1h2m3s`, `2m` (every part optional, in order)."""
_FRACTION = re.compile(r"^(\d{1,6})\.\d+s?$")
_START_PARAMETERS = ("t", "start")
_KEY_MARK = " clip "
"""Between a media key and a clip's key: a space never appears in a link or a key."""
_CLIP_KEY = re.compile(r"^(\d+)-(\d*)$")
_EPSILON_S = 0.5
"""How far past the video's end an end time may be and still mean "to the end": durations
that sites state are rounded."""


class ClipProblem(StrEnum):
    """Why a clip cannot be cut as asked."""

    REVERSED = "reversed"
    """The end is before the start."""
    EMPTY = "empty"
    """The start and the end are the same time."""
    MALFORMED = "malformed"
    """A range is written, but its times are not times (`1:75`, `1.5`, `1:2:3:4`)."""
    PAST_END = "past_end"
    """The clip starts at or after the end of the video."""
    PLAYLIST = "playlist"
    """The link is a playlist: a clip is cut from one video, not from a list of them."""


class ClipRangeError(Exception):
    """A clip that cannot be cut: `problem` says why; `asked` is the range as written (or
    the start time read from the link) and `duration_s` the video's length for
    `PAST_END`."""

    def __init__(self, problem: ClipProblem, asked: str, duration_s: float | None = None) -> None:
        self.problem = problem
        self.asked = asked
        self.duration_s = duration_s
        super().__init__(f"{problem.value} clip: {asked}")


@dataclass(frozen=True, slots=True)
class Clip:
    """From `start_s` to `end_s` (None: to the end of the video), whole seconds from the
    video's start. `start_s < end_s` always holds."""

    start_s: int
    end_s: int | None = None

    def __post_init__(self) -> None:
        if self.start_s < 0 or (self.end_s is not None and self.end_s <= self.start_s):
            raise ValueError(f"not a clip: {self.start_s}-{self.end_s}")

    @property
    def duration_s(self) -> int | None:
        """The clip's length, None when it runs to the end of the video."""
        return None if self.end_s is None else self.end_s - self.start_s

    def length_s(self, video_s: float) -> float:
        """How long the clip of a video of `video_s` seconds is: what a duration limit
        is checked against (a clip of a long video may be sent when the video may not)."""
        end = video_s if self.end_s is None else min(self.end_s, video_s)
        return max(0.0, end - self.start_s)

    @property
    def key(self) -> str:
        """What tells this clip from other clips of the same video (`90-125`, `90-`): the
        same clip asked again has the same key, so it is one cache entry."""
        return f"{self.start_s}-{'' if self.end_s is None else self.end_s}"

    @property
    def label(self) -> str:
        """The range as a person reads it: `1:30–2:05`, `1:30–` to the end."""
        end = "" if self.end_s is None else format_time(self.end_s)
        return f"{format_time(self.start_s)}–{end}"

    def within(self, duration_s: float) -> Clip | None:
        """This clip of a video of `duration_s` seconds: an end past the video's end is
        read as its end; None when the clip is the whole video. Raises `ClipRangeError`
        (`PAST_END`) when the clip starts at or after the video's end."""
        if self.start_s >= duration_s:
            raise ClipRangeError(ClipProblem.PAST_END, self.label, duration_s)
        end_s = self.end_s
        if end_s is not None and end_s >= duration_s - _EPSILON_S:
            end_s = None
        if self.start_s == 0 and end_s is None:
            return None
        return Clip(self.start_s, end_s)


@dataclass(frozen=True, slots=True)
class ClipOffer:
    """A clip offered beside the whole video: the offer recorded for it (its own request,
    keyed by `media_key_of`) and the clip."""

    offer_id: uuid.UUID
    clip: Clip


def media_key_of(media_key: str, clip: Clip | None) -> str:
    """The cache key of `clip` of the media keyed `media_key` (`media_key` itself for the
    whole): a clip is its own cache entry, the same clip asked again is the same entry."""
    return media_key if clip is None else f"{media_key}{_KEY_MARK}{clip.key}"


def clip_of_key(clip_key: str) -> Clip | None:
    """The clip whose `Clip.key` is `clip_key`; None for anything else."""
    match = _CLIP_KEY.match(clip_key)
    if match is None:
        return None
    start, end = int(match.group(1)), int(match.group(2)) if match.group(2) else None
    if end is not None and end <= start:
        return None
    return Clip(start, end)


def clip_of_media_key(key: str) -> tuple[str, Clip | None]:
    """(the media's key, the clip) of a key made by `media_key_of`."""
    media_key, mark, clip_key = key.rpartition(_KEY_MARK)
    clip = clip_of_key(clip_key) if mark else None
    return (key, None) if clip is None else (media_key, clip)


def format_time(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on (whole seconds, rounded down)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clip_in_link(url: str) -> Clip | None:
    """The clip a link's start time asks for (from there to the end), or None: no start
    time, a start at 0, or a `t` that is not a time."""
    parts = urlsplit(url)
    parameters = parse_qs(parts.query) | parse_qs(parts.fragment)
    for name in _START_PARAMETERS:
        if name == "start" and "embed" not in parts.path:
            continue  # `start=` names a start time on YouTube's embed player only
        for value in parameters.get(name, ()):
            start = _link_time(value)
            if start:
                return Clip(start)
    return None


def clip_in_message(text: str, url: str | None = None) -> Clip | None:
    """The clip a message asks for: the first range written outside its links, else the
    start time of `url` (the link it is asked of), else None.

    Raises `ClipRangeError` for a range written but not cuttable: malformed, reversed or
    zero-length.
    """
    blanked = _URL.sub(lambda match: " " * len(match.group(0)), text)
    match = _RANGE.search(blanked)
    if match is None:
        return clip_in_link(url) if url else None
    asked = match.group(0).strip()
    start, end = _seconds(match.group(1)), _seconds(match.group(2))
    if start is None or end is None:
        raise ClipRangeError(ClipProblem.MALFORMED, asked)
    if end < start:
        raise ClipRangeError(ClipProblem.REVERSED, asked)
    if end == start:
        raise ClipRangeError(ClipProblem.EMPTY, asked)
    return Clip(start, end)


def _seconds(written: str) -> int | None:
    """Whole seconds of `80`, `1:20` or `1:02:03`; None for anything else (fractions,
    fields of 60 and more after the first, more than three fields)."""
    if _CLOCK.match(written) is None:
        return None
    *leading, last = (int(field) for field in written.split(":"))
    if (leading and last >= 60) or (len(leading) == 2 and leading[1] >= 60):
        return None
    total = 0
    for field in (*leading, last):
        total = total * 60 + field
    return total


def _link_time(value: str) -> int | None:
    """Whole seconds of a link's `t=` value (`90`, `90s`, `1m30s`, `1h2m3s`, `1:30`)."""
    value = value.strip()
    if not value:
        return None
    if ":" in value:
        return _seconds(value)
    fraction = _FRACTION.match(value)
    if fraction is not None:  # a player's own link (`t=90.5`): from the whole second
        return int(fraction.group(1))
    match = _UNITS.match(value)
    if match is None:
        return None
    hours, minutes, secs = (int(group) if group else 0 for group in match.groups())
    return hours * 3600 + minutes * 60 + secs
