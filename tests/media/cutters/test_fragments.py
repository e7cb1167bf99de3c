"""The fragment cutter's ffmpeg command on its own (its cuts are tested by the senders')."""

from __future__ import annotations

from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.media.cutters.fragments import cut_command


def test_a_cut_of_fed_tracks_keeps_their_timestamps_and_takes_each_tracks_streams() -> None:
    args = cut_command(
        ["pipe:5", "pipe:7"], [(0,), (1,)], 2.0995, 4.0995, MediaKind.VIDEO, Path("p.mp4")
    )
    assert "-copyts" in args
    assert args.count("-thread_queue_size") == 2
    assert args[args.index("pipe:5") + 1 : args.index("-c")] == [
        "-thread_queue_size",
        "4096",
        "-i",
        "pipe:7",
        "-map",
        "0:0",
        "-map",
        "1:1",
    ]
    assert args[args.index("-ss") : args.index("-ss") + 4] == ["-ss", "2.099500", "-to", "4.099500"]
    assert args[-1] == "p.mp4"


def test_the_last_part_runs_to_the_end() -> None:
    args = cut_command(["pipe:5"], [(0, 1)], 8.0, None, MediaKind.AUDIO, Path("p.m4a"))
    assert "-to" not in args
    assert args[args.index("-map") :][:4] == ["-map", "0:0", "-map", "0:1"]
