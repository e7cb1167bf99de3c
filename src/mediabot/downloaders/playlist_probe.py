"""ffprobe reading an HLS playlist through the session's guard proxy: its streams and the bit
rates measured over its first seconds."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
from typing import Any

from yt_dlp.utils import DownloadCancelled

from mediabot.downloaders.errors import PrivateAddressError
from mediabot.downloaders.ytdl import YtdlSession
from mediabot.media import probe
from mediabot.media.tools import tool_environment

logger = logging.getLogger(__name__)

_PLAYLIST_SAMPLE_S = 8
"""Seconds of a playlist ffprobe reads to measure its bitrate (the size estimate)."""
_POLL_S = 0.1


def probe_playlist(
    session: YtdlSession, url: str
) -> tuple[probe.MediaInfo, dict[str, float | None]] | None:
    """ffprobe's facts about the HLS playlist at `url`, with its measured bit rates.

    The rates (`tbr`, `abr`, in kbit/s as yt-dlp counts them) come from the packets of the
    first seconds. None when ffprobe is not installed or cannot read the playlist. ffprobe
    reads the playlist, its keys and segments through the session's guard proxy; it is
    killed when the session is cancelled or abandoned (deadline, stall).
    """
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; playlists get no resolution list")
        return None
    sample = ["-read_intervals", f"%+{_PLAYLIST_SAMPLE_S}"]
    packets = ["-show_entries", "packet=stream_index,size,pts_time"]
    command = [executable, *probe.probe_command(url, [*sample, *packets])[1:]]
    guard = session.guard
    refused_before = guard.refusal_count
    stdout = _run_until_cancelled(session, command, tool_environment(guard.url))
    if guard.refusal_count > refused_before:
        raise PrivateAddressError(detail=f"guard refused {guard.refusals} probing {url}")
    if stdout is None:
        logger.info("ffprobe could not read the playlist %s", probe.without_query(url))
        return None
    try:
        facts = probe.parse_probe_output(stdout, url)
    except probe.ProbeError:
        return None
    return facts, _bit_rates(stdout, facts)


def _run_until_cancelled(
    session: YtdlSession, command: list[str], env: dict[str, str]
) -> bytes | None:
    """The command's output, or None when it failed.

    Killed as soon as the session is cancelled, raising `DownloadCancelled`: the session's
    `run` then reports why (the deadline, a stall, the user's cancel).
    """
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as process:
        stdout = b""
        try:
            while not session.cancelled.is_set():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    stdout, _ = process.communicate(timeout=_POLL_S)
                    break
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if session.cancelled.is_set():  # the abort may have been what ended ffprobe
        raise DownloadCancelled()
    return stdout if process.returncode == 0 and stdout else None


def _bit_rates(raw: bytes, facts: probe.MediaInfo) -> dict[str, float | None]:
    """`tbr` and `abr` (kbit/s) from the packets ffprobe listed; None where unmeasurable."""
    try:
        packets: list[dict[str, Any]] = json.loads(raw).get("packets") or []
    except ValueError:
        return {}
    audio_index = facts.audio.index if facts.audio else None
    return {
        "tbr": _kbps(packets),
        "abr": _kbps([p for p in packets if p.get("stream_index") == audio_index]),
    }


def _kbps(packets: list[dict[str, Any]]) -> float | None:
    times = [float(p["pts_time"]) for p in packets if p.get("pts_time") not in (None, "N/A")]
    span = max(times) - min(times) if times else 0.0
    if span < 1.0:
        return None
    size = sum(int(p.get("size") or 0) for p in packets)
    return size * 8 / span / 1000
