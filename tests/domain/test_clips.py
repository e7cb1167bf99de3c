"""Clip requests as people write them: start times in links, ranges in messages, refusals."""

from __future__ import annotations

import pytest

from mediabot.domain.clips import (
    Clip,
    ClipProblem,
    ClipRangeError,
    clip_in_link,
    clip_in_message,
    clip_of_media_key,
    format_time,
    media_key_of,
)

WATCH = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.mark.parametrize(
    ("url", "start"),
    [
        (f"{WATCH}&t=90", 90),
        (f"{WATCH}&t=90s", 90),
        (f"{WATCH}&t=1m30s", 90),
        (f"{WATCH}&t=2m", 120),
        ("https://youtu.be/dQw4w9WgXcQ?t=90", 90),
        ("https://youtu.be/dQw4w9WgXcQ?si=AbCdEf12&t=1h2m3s", 3723),
        (f"{WATCH}#t=1h2m3s", 3723),
        (f"{WATCH}#t=1:30", 90),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ?start=75", 75),
        ("https://vimeo.com/76979871#t=1m5s", 65),
        ("https://example.com/player?v=1#t=90.75", 90),
    ],
)
def test_a_link_that_starts_at_a_time_asks_for_the_rest_from_there(url: str, start: int) -> None:
    assert clip_in_link(url) == Clip(start, None)


@pytest.mark.parametrize(
    "url",
    [
        WATCH,
        f"{WATCH}&t=0",
        f"{WATCH}&t=0s",
        "https://x.com/someone/status/1800000000000000000?s=20&t=Jx8kQm2Lr",
        f"{WATCH}&t=",
        f"{WATCH}&t=1:75",
        f"{WATCH}&start=90",  # `start=` means a start time on the embed player only
    ],
)
def test_a_link_without_a_start_time_is_the_whole_video(url: str) -> None:
    assert clip_in_link(url) is None


@pytest.mark.parametrize(
    ("text", "clip"),
    [
        (f"{WATCH} 1:20-2:05", Clip(80, 125)),
        (f"{WATCH} 1:20–2:05", Clip(80, 125)),
        (f"{WATCH} 1:20 — 2:05", Clip(80, 125)),
        (f"{WATCH} 1:20\u22122:05", Clip(80, 125)),  # the minus sign
        (f"{WATCH} 1:20\u20122:05", Clip(80, 125)),  # a figure dash
        (f"{WATCH} 1:20\u20112:05", Clip(80, 125)),  # a non-breaking hyphen
        (f"{WATCH} 1:20\uff0d2:05", Clip(80, 125)),  # a full-width hyphen-minus
        (f"1:02:03-1:02:30 {WATCH}", Clip(3723, 3750)),
        (f"{WATCH} 80-125", Clip(80, 125)),
        (f"{WATCH} please, 0:59-1:00.", Clip(59, 60)),
        (f"{WATCH}&t=30 1:20-2:05", Clip(80, 125)),  # the range wins over the link's time
    ],
)
def test_a_range_in_the_message_is_the_clip(text: str, clip: Clip) -> None:
    assert clip_in_message(text, WATCH) == clip


def test_without_a_range_the_links_start_time_is_the_clip() -> None:
    url = f"{WATCH}&t=1m30s"
    assert clip_in_message(f"look {url}", url) == Clip(90, None)
    assert clip_in_message(f"look {WATCH}", WATCH) is None
    assert clip_in_message("look at this on 2024-05-01", None) is None


@pytest.mark.parametrize(
    "text",
    [
        "https://youtu.be/dQw4w9WgXcQ?t=1-2",  # digits and a hyphen inside a link
        "https://example.com/2020-2021/video.mp4",
        "example.com/clips/10-20",
        "on 2024-05-01 at 10:30",  # a date is not a range
        "call 8-800-555-35-35",
    ],
)
def test_numbers_inside_links_dates_and_phone_numbers_are_not_ranges(text: str) -> None:
    assert clip_in_message(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2:05-1:20", ClipProblem.REVERSED),
        ("125-80", ClipProblem.REVERSED),
        ("1:20-1:20", ClipProblem.EMPTY),
        ("80-1:20", ClipProblem.EMPTY),
        ("1:75-2:00", ClipProblem.MALFORMED),
        ("1:20.5-2:05", ClipProblem.MALFORMED),
        ("1.20-2.05", ClipProblem.MALFORMED),  # minutes with dots, or fractions: not guessed
        ("1:2:3:4-1:2:3:5", ClipProblem.MALFORMED),
        ("1:60:00-1:61:00", ClipProblem.MALFORMED),
        ("1::20-2:05", ClipProblem.MALFORMED),
    ],
)
def test_a_range_that_cannot_be_cut_is_refused_with_its_reason(
    text: str, problem: ClipProblem
) -> None:
    with pytest.raises(ClipRangeError) as refused:
        clip_in_message(f"{WATCH} {text}", WATCH)
    assert refused.value.problem is problem
    assert refused.value.asked == text


def test_a_clip_is_checked_against_the_videos_duration() -> None:
    assert Clip(80, 125).within(600.0) == Clip(80, 125)
    assert Clip(80, 700).within(600.0) == Clip(80, None)  # an end past the end: to the end
    assert Clip(80, 600).within(600.4) == Clip(80, None)  # a stated duration is rounded
    assert Clip(0, 600).within(600.0) is None  # the whole video
    assert Clip(0, None).within(600.0) is None
    for late in (Clip(600, 700), Clip(601), Clip(900, 960)):
        with pytest.raises(ClipRangeError) as refused:
            late.within(600.0)
        assert refused.value.problem is ClipProblem.PAST_END
        assert refused.value.duration_s == 600.0


def test_a_clip_names_itself_for_the_cache_and_for_people() -> None:
    assert Clip(80, 125).key == "80-125"
    assert Clip(80).key == "80-"
    assert Clip(80, 125).key != Clip(80).key
    assert Clip(80, 125).label == "1:20–2:05"
    assert Clip(3723).label == "1:02:03–"
    assert Clip(80, 125).duration_s == 45
    assert Clip(80, 125).length_s(3600.0) == 45.0
    assert Clip(80).length_s(600.0) == 520.0  # to the end: a limit counts the rest
    assert Clip(80, 700).length_s(600.0) == 520.0
    assert Clip(80).duration_s is None
    assert [format_time(s) for s in (0, 59.9, 60, 3599, 3600)] == [
        "0:00",
        "0:59",
        "1:00",
        "59:59",
        "1:00:00",
    ]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 5), (5, 4)])
def test_a_clip_is_never_empty_or_reversed(start: int, end: int | None) -> None:
    with pytest.raises(ValueError, match="not a clip"):
        Clip(start, end)


@pytest.mark.parametrize(
    "media_key",
    ["youtube:dQw4w9WgXcQ", "https://example.com/video.mp4?a=1#t=5", "instagram:C0ab_12"],
)
def test_a_clip_is_its_own_cache_entry_and_its_key_gives_it_back(media_key: str) -> None:
    for clip in (Clip(80, 125), Clip(80), None):
        key = media_key_of(media_key, clip)
        assert clip_of_media_key(key) == (media_key, clip)
    assert media_key_of(media_key, Clip(80, 125)) != media_key_of(media_key, Clip(80))
    assert media_key_of(media_key, None) == media_key


def test_a_key_that_only_looks_like_a_clip_is_a_media_key() -> None:
    for key in ("youtube:abc clip 5-3", "youtube:abc clip x-5", "youtube:abc clip-5-10"):
        assert clip_of_media_key(key) == (key, None)
