"""A long manifest's fragment lists as runs: a few numbers instead of thousands of entries.

yt-dlp lists every fragment of a DASH format whose segments a template names (a long
`SegmentTimeline`: tens of thousands of `{"path": "v-123400.m4s", "duration": 0.2}`).
Such a list is one name with a counter in it and a handful of durations: `runs` keeps it
as the name's two ends, the counter's first value and its steps, and the durations, each
step and duration once per run of equal ones. `fragments` gives back a list equal to it
(equal durations are one run: a 2 after a 2.0 comes back as 2.0, which yt-dlp reads alike);
a list that is not of that shape is left as it is (`runs` returns None).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate, groupby, pairwise
from typing import Any

MIN_FRAGMENTS = 32
"""Shorter lists are kept as they are: their runs would save little."""
_DIGITS = "0123456789"
_MAX_DIGITS = 100
"""A longer run of digits in a name is no counter (and `int` refuses past 4300 digits)."""

Fragment = dict[str, Any]
Runs = dict[str, Any]


def runs(fragments: list[Fragment]) -> Runs | None:
    """`fragments` as runs, or None when they do not follow one counter.

    The leading fragments outside the pattern (an initialization segment) are kept as
    they are in `head`; every other one must be `{key: name, "duration": seconds}` with
    the same two ends around a decimal counter (zero-padded to one width, or not at all,
    and of at most `_MAX_DIGITS` digits).
    """
    if len(fragments) < MIN_FRAGMENTS:
        return None
    last, before = fragments[-1], fragments[-2]
    key = "path" if "path" in last else "url"
    if not isinstance(last.get(key), str) or not isinstance(before.get(key), str):
        return None
    prefix, suffix = _ends(last[key], before[key])
    fitting = (_counter(fragment, key, prefix, suffix) for fragment in fragments)
    head = next((index for index, counter in enumerate(fitting) if counter is not None), None)
    if head is None or len(fragments) - head < MIN_FRAGMENTS:
        return None
    run = fragments[head:]
    counted = _counters(run, key, prefix, suffix)
    if counted is None:
        return None
    counters, width = counted
    numbers = list(map(int, counters))
    return {
        "head": fragments[:head],
        "key": key,
        "prefix": prefix,
        "suffix": suffix,
        "width": width,
        "first": numbers[0],
        "steps": _runs_of(after - before for before, after in pairwise(numbers)),
        "durations": _runs_of(fragment["duration"] for fragment in run),
    }


def fragments(kept: Runs) -> list[Fragment]:
    """The fragment list `runs` gave `kept` for."""
    key, prefix, suffix, width = kept["key"], kept["prefix"], kept["suffix"], kept["width"]
    steps = (step for step, count in kept["steps"] for _ in range(count))
    numbers = accumulate(steps, initial=kept["first"])
    seconds = (duration for duration, count in kept["durations"] for _ in range(count))
    return [
        *kept["head"],
        *(
            {key: f"{prefix}{str(number).zfill(width)}{suffix}", "duration": duration}
            for number, duration in zip(numbers, seconds, strict=True)
        ),
    ]


def _counters(
    run: list[Fragment], key: str, prefix: str, suffix: str
) -> tuple[list[str], int] | None:
    """The counters in the names of `run` and their width (0: not padded), when every
    fragment is `{key: name, "duration": seconds}` around one counter; else None."""
    names = [name for fragment in run if isinstance(name := fragment.get(key), str)]
    if not (
        len(names) == len(run)
        and all(len(fragment) == 2 for fragment in run)
        and all(type(fragment.get("duration")) in (int, float) for fragment in run)
        and all(name.startswith(prefix) and name.endswith(suffix) for name in names)
        and all(len(name) > len(prefix) + len(suffix) for name in names)
    ):
        return None
    counters = [name[len(prefix) : len(name) - len(suffix)] for name in names]
    if not all(
        counter.isascii() and counter.isdigit() and len(counter) <= _MAX_DIGITS
        for counter in counters
    ):
        return None
    first = counters[0]
    width = len(first) if first.startswith("0") and len(first) > 1 else 0
    if width:
        if any(len(counter) != width for counter in counters):
            return None
    elif any(counter.startswith("0") and len(counter) > 1 for counter in counters):
        return None
    return counters, width


def _ends(name: str, other: str) -> tuple[str, str]:
    """What two names of the list share before and after their counters."""
    prefix = _shared_start(name, other).rstrip(_DIGITS)
    suffix = _shared_start(name[::-1], other[::-1])[::-1].lstrip(_DIGITS)
    return prefix, suffix


def _shared_start(name: str, other: str) -> str:
    """The longest start `name` and `other` have in common."""
    length = min(len(name), len(other))
    return name[: next((n for n in range(length) if name[n] != other[n]), length)]


def _counter(fragment: Fragment, key: str, prefix: str, suffix: str) -> str | None:
    """The counter in `fragment`'s name, when it is `{key: name, "duration": seconds}`."""
    name = fragment.get(key)
    if (
        len(fragment) != 2
        or not isinstance(name, str)
        or type(fragment.get("duration")) not in (int, float)
        or len(name) <= len(prefix) + len(suffix)
        or not name.startswith(prefix)
        or not name.endswith(suffix)
    ):
        return None
    counter = name[len(prefix) : len(name) - len(suffix)]
    return counter if counter.isascii() and counter.isdigit() else None


def _runs_of(values: Iterable[Any]) -> list[list[Any]]:
    """`values` as `[value, count]` pairs, one per run of equal ones."""
    return [[value, sum(1 for _ in run)] for value, run in groupby(values)]
