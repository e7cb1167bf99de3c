"""Fragment lists as runs: every list comes back as it was, or is left as it is."""

from __future__ import annotations

import json
import random
from itertools import accumulate
from typing import Any

import pytest

from mediabot.downloaders.fragment_runs import MIN_FRAGMENTS, fragments, runs

Fragments = list[dict[str, Any]]


def _timeline(
    count: int, name: str = "v-{}.m4s", step: int = 200, duration: Any = 0.2
) -> Fragments:
    return [{"path": name.format(n * step), "duration": duration} for n in range(count)]


def _back(listed: Fragments) -> Fragments:
    """`listed` through its runs and JSON, as the database keeps them."""
    kept = runs(listed)
    assert kept is not None
    return fragments(json.loads(json.dumps(kept)))


CASES = {
    "init-then-timeline": [{"path": "v-init.mp4"}, *_timeline(7_000)],
    "digits-in-both-ends": _timeline(100, name="v720p-{}.m4s"),
    "counter-first": _timeline(100, name="{}.ts", step=1),
    "counter-grows-a-digit": _timeline(200, name="seg-{}.m4s", step=7),
    "zero-padded": [{"path": f"seg-{n:05d}.m4s", "duration": 4.0} for n in range(1, 500)],
    "absolute-urls": [
        {"url": f"https://cdn.example/a/{n}/chunk.m4s?sig=x", "duration": 2} for n in range(64)
    ],
    "irregular-timeline": [
        {"path": f"a-{t}.m4s", "duration": d}
        for t, d in zip(
            accumulate([0] + [2002, 1001, 2002] * 40),
            [2.002, 1.001, 2.002] * 40 + [0.5],
            strict=True,
        )
    ],
}


@pytest.mark.parametrize("listed", CASES.values(), ids=CASES.keys())
def test_a_list_of_one_counter_comes_back_as_it_was(listed: Fragments) -> None:
    assert _back(listed) == listed


def test_a_regular_timeline_is_a_few_numbers() -> None:
    kept = runs(CASES["init-then-timeline"])
    assert kept is not None
    assert kept["steps"] == [[200, 6_999]] and kept["durations"] == [[0.2, 7_000]]
    assert len(json.dumps(kept)) < 250


def test_random_timelines_come_back_as_they_were() -> None:
    rng = random.Random(20261206)
    for _ in range(200):
        count = rng.randrange(MIN_FRAGMENTS, 400)
        steps = [rng.choice((1, 2, 1000, 2002, rng.randrange(1, 10**6))) for _ in range(count)]
        durations = [rng.choice((0.2, 2.002, 1.001, rng.random())) for _ in range(count)]
        numbers = accumulate(steps, initial=rng.randrange(10**9))
        name = rng.choice(("v{}.m4s", "a-{}", "{}.ts", "https://c.example/7/{}/s.m4s?x=1"))
        listed = [
            {"path": name.format(number), "duration": duration}
            for number, duration in zip(numbers, durations, strict=False)
        ]
        assert _back(listed) == listed


def _broken(at: int, fragment: dict[str, Any]) -> Fragments:
    listed = _timeline(100)
    listed[at] = fragment
    return listed


LEFT_AS_THEY_ARE = {
    "short": _timeline(MIN_FRAGMENTS - 1),
    "a-byte-range": _broken(50, {"path": "v-10000.m4s", "duration": 0.2, "range": "0-99"}),
    "another-name-midway": _broken(50, {"path": "w-10000.m4s", "duration": 0.2}),
    "no-duration-midway": _broken(50, {"path": "v-10000.m4s"}),
    "a-true-duration": _broken(50, {"path": "v-10000.m4s", "duration": True}),
    "not-a-name": _broken(50, {"path": 10000, "duration": 0.2}),
    "signed-counter": _broken(50, {"path": "v-+10000.m4s", "duration": 0.2}),
    "unicode-digits": _broken(50, {"path": "v-١٠.m4s", "duration": 0.2}),
    "padding-outgrown": [{"path": f"s-{n:03d}.ts", "duration": 1.0} for n in range(50, 1050)],
    "a-leading-zero-unpadded": _broken(50, {"path": "v-010000.m4s", "duration": 0.2}),
    "one-name-only": [{"path": "live.m4s", "duration": 1.0}] * 100,
    "a-head-too-long": [{"path": f"h{n}.mp4"} for n in range(90)] + _timeline(10),
    "a-counter-past-int-conversion": _timeline(100, name="v-" + "1" * 4998 + "{}.m4s", step=1),
}


@pytest.mark.parametrize("listed", LEFT_AS_THEY_ARE.values(), ids=LEFT_AS_THEY_ARE.keys())
def test_a_list_of_another_shape_is_left_as_it_is(listed: Fragments) -> None:
    assert runs(listed) is None
