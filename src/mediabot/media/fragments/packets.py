"""What ffprobe says about fragments on disk, each fed to it after its track's init.

A fragment is not media alone (an fMP4 fragment needs its init), so ffprobe reads a pipe
the init and the fragments are written into in order, and each packet is given back to the
fragment its byte position falls in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mediabot.media.fragments.track import Piece, Track, assign_packets
from mediabot.media.parts import SplitError
from mediabot.media.probe import (
    MediaInfo,
    packets_command,
    parse_packets,
    parse_probe_output,
    probe_command,
)
from mediabot.media.tools import MediaToolError, run_fed


async def read_streams(track: Track, first: Piece) -> MediaInfo:
    """The container and streams of `track`, from its first fragment."""
    try:
        raw = await run_fed(lambda inputs: probe_command(inputs[0]), [_feed(track, [first])])
    except MediaToolError as exc:
        raise SplitError(f"the first fragment is not readable media: {exc}") from exc
    return parse_probe_output(raw, track.fragments[0].url)


async def read_packets(track: Track, pieces: Sequence[Piece]) -> None:
    """Read the packets of consecutive `pieces` of `track` (its chosen streams) in one
    ffprobe run, into each piece."""
    try:
        raw = await run_fed(lambda inputs: packets_command(inputs[0]), [_feed(track, pieces)])
    except MediaToolError as exc:
        numbers = f"{pieces[0].number + 1}-{pieces[-1].number + 1}"
        raise SplitError(f"fragments {numbers} are not readable media: {exc}") from exc
    init_bytes = track.init_path.stat().st_size if track.init_path is not None else 0
    assign_packets(
        pieces, parse_packets(raw, track.streams), init_bytes=init_bytes, position=track.index
    )


def _feed(track: Track, pieces: Sequence[Piece]) -> list[Path]:
    init = [track.init_path] if track.init_path is not None else []
    return [*init, *(piece.path for piece in pieces)]
