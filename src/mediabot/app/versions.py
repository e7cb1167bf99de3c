"""`mediabot --version`: the versions of mediabot and of the tools it runs.

An operator keeping up with YouTube's changes needs to know which yt-dlp, ffmpeg and
JavaScript runtime (deno, which yt-dlp uses for YouTube's player) this install really uses.
"""

from __future__ import annotations

import shutil
import subprocess

_TIMEOUT_S = 10.0


def describe_versions(mediabot_version: str) -> str:
    """One line per component: `mediabot 0.x`, `yt-dlp ...`, `ffmpeg ...`, `deno ...`."""
    return "\n".join(
        [
            f"mediabot {mediabot_version}",
            f"yt-dlp {_yt_dlp()}",
            f"ffmpeg {_ffmpeg()}",
            f"deno {_deno()}",
        ]
    )


def _yt_dlp() -> str:
    try:
        from yt_dlp.version import __version__
    except ImportError:
        return "not installed"
    return str(__version__)


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        return "not found on PATH"
    first = _first_line([path, "-version"])  # "ffmpeg version 5.1.6-0+deb12u1 Copyright ..."
    words = first.split()
    version = words[2] if len(words) > 2 and words[:2] == ["ffmpeg", "version"] else first
    return f"{version} ({path})"


def _deno() -> str:
    try:
        import deno

        path = str(deno.find_deno_bin())
    except (ImportError, FileNotFoundError):
        return "not found (YouTube may fail)"
    first = _first_line([path, "--version"])  # "deno 2.4.2 (stable, release, ...)"
    words = first.split()
    version = words[1] if len(words) > 1 and words[0] == "deno" else first
    return f"{version} ({path})"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"
