"""`mediabot download --res 720` against plain `yt-dlp` on the same local DASH source.

Both run as fresh processes on the bench's long DASH pair (720p H.264 + AAC, 48 s), served
by the test media server on loopback, in alternating rounds so drift hits both alike. Prints
both medians and the ratio mediabot / yt-dlp; the target is <= 1.05.

    .venv/bin/python bench/bench_download.py [--rounds N] [--throttle-mbps 50]

At loopback speed the transfer takes ~0.1 s, so the figure measures fixed start-up costs
(interpreter, imports, settings); `--throttle-mbps` makes the transfer look like a network.

mediabot runs as installed: a copy of the package with its bytecode compiled, as pip does
when it installs the wheel (yt-dlp's is compiled too). The editable tree of a development
checkout under PYTHONDONTWRITEBYTECODE compiles every mediabot module on every start
(~20 ms); `--as-is` measures that instead.
The CPU time (user + system) of each process, ffmpeg included, is printed too: it moves less
than wall time when something else runs on the machine. Run it on a quiet machine anyway.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.media import MediaSources, link_media_tree  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402

HEIGHT = 720
# The selector mediabot's VideoExecution uses for an exact height, so both fetch the same bytes.
SELECTOR = "/".join(
    (
        f"bv[height={HEIGHT}][vcodec^=avc1]+ba[acodec^=mp4a]",
        f"b[height={HEIGHT}][vcodec^=avc1][acodec^=mp4a]",
        f"bv[height={HEIGHT}][vcodec^=avc1]+ba",
        f"bv[height={HEIGHT}]+ba[acodec^=mp4a]",
        f"bv[height={HEIGHT}]+ba",
        f"b[height={HEIGHT}]",
        f"bv[height={HEIGHT}]",
    )
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, with its own children) of one run."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument(
        "--throttle-mbps",
        type=float,
        default=0.0,
        help="cap the server at this many megabits/s per request (0: loopback speed)",
    )
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="run mediabot from the working tree as it is, without compiled bytecode",
    )
    args = parser.parse_args()

    python = sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["ALLOW_PRIVATE_URLS"] = "true"
    env["LOG_LEVEL"] = "WARNING"

    with tempfile.TemporaryDirectory(prefix="bench-download-") as scratch:
        mediabot_env = dict(env)
        if not args.as_is:
            installed = Path(scratch) / "installed"
            shutil.copytree(ROOT / "src" / "mediabot", installed / "mediabot")
            if not compileall.compile_dir(installed, quiet=1):
                raise RuntimeError("could not compile the mediabot package")
            mediabot_env["PYTHONPATH"] = str(installed)
        tree = Path(scratch) / "media"
        tree.mkdir()
        link_media_tree(tree)
        with MediaServer(tree) as server:
            if args.throttle_mbps:
                server.throttle_bytes_per_second = int(args.throttle_mbps * 1_000_000 / 8)
            url = MediaSources.served_at(server.base_url, server.root).long_dash_mpd
            mediabot_times: list[tuple[float, float]] = []
            ytdlp_times: list[tuple[float, float]] = []
            load_before = os.getloadavg()[0]
            # Round -1 warms the disk cache and is not counted.
            for round_number in range(-1, args.rounds):
                out = Path(scratch) / f"out-{round_number}"
                env["DATA_DIR"] = mediabot_env["DATA_DIR"] = str(out / "data")
                mediabot = [python, "-m", "mediabot", "download", url, "--res", str(HEIGHT)]
                mediabot += ["-o", str(out / "mediabot")]
                ytdlp = [python, "-m", "yt_dlp", "-q", "--no-progress", "-f", SELECTOR]
                ytdlp += ["--merge-output-format", "mp4", "-P", str(out / "yt-dlp"), url]
                # Alternate who goes first, so neither always gets the warmer cache.
                pair = [
                    (mediabot, mediabot_env, mediabot_times),
                    (ytdlp, env, ytdlp_times),
                ]
                for command, command_env, times in (
                    pair if round_number % 2 == 0 else reversed(pair)
                ):
                    timed = _timed(command, command_env)
                    if round_number >= 0:
                        times.append(timed)
                shutil.rmtree(out, ignore_errors=True)

    load_after = os.getloadavg()[0]
    mediabot_wall = statistics.median(wall for wall, _ in mediabot_times)
    ytdlp_wall = statistics.median(wall for wall, _ in ytdlp_times)
    mediabot_cpu = statistics.median(cpu for _, cpu in mediabot_times)
    ytdlp_cpu = statistics.median(cpu for _, cpu in ytdlp_times)
    ratio = mediabot_wall / ytdlp_wall
    speed = f"{args.throttle_mbps:g} Mbit/s" if args.throttle_mbps else "loopback speed"
    build = "working tree as is" if args.as_is else "compiled like an installed wheel"
    print(f"source: long DASH 720p (48 s, ~8.6 MB), {speed}, {args.rounds} rounds")
    print(f"mediabot: {build}")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    for label, wall, cpu in (
        (f"mediabot download --res {HEIGHT}:", mediabot_wall, mediabot_cpu),
        ("yt-dlp -f <same selector>:", ytdlp_wall, ytdlp_cpu),
    ):
        print(f"{label:31s} median {wall:.3f} s, CPU {cpu:.3f} s")
    print(f"CPU ratio: {mediabot_cpu / ytdlp_cpu:.3f}")
    print(f"ratio: {ratio:.3f} (target <= 1.05) {'OK' if ratio <= 1.05 else 'OVER'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
