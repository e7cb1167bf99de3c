"""Reading the first bytes of a media file through the guarded YoutubeDL into ffprobe: its
streams, the bit rates it declares, and which size to believe (the server's or the media's)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.ytdl import YtdlSession
from mediabot.media.probe import (
    MediaInfo,
    ProbeError,
    parse_probe_output,
    probe_command,
    without_query,
)

logger = logging.getLogger(__name__)

_PROBE_BYTES_LIMIT = 32 * 1024 * 1024
_NOT_MEDIA = MediaInfo(
    source="", format_name="", duration_s=None, size_bytes=None, bit_rate=None, streams=()
)
_SIZE_TOLERANCE = 4.0
"""How far a declared size may stray from the media's own estimate and still be shown."""
_SIZE_CHECK_BYTES = 16 * 1024 * 1024
"""A body whose declared size is disputed is read this far to find its end (its size)."""


@dataclass(frozen=True, slots=True)
class FileProbe:
    """What reading the start of a file told: ffprobe's facts (None without ffprobe), the
    Content-Length the server announced, the bit rates the container declares (`vbr`,
    `abr`, kbit/s), and the bytes read, with whether the body ended within them."""

    facts: MediaInfo | None
    announced_bytes: int | None = None
    rates: dict[str, float | None] | None = None
    read_bytes: int = 0
    read_all: bool = False


def settle_size(fmt: InfoDict, probed: FileProbe) -> None:
    """Give `fmt` the size to show, unless yt-dlp gave one.

    A body read to its end is its exact size. Otherwise the server's Content-Length is
    shown when it agrees (within `_SIZE_TOLERANCE` either way) with the media's own
    estimate: its declared bit rate × its duration as ffprobe read them from the first
    bytes (the streams' rates summed, or the container's overall rate). When they
    disagree the estimate is shown instead, raised to the bytes already seen (a file's
    start may tell only the duration of its first fragments): a server that announces
    2 GiB for a 20-second 240p file does not make it 2 GiB. Without an estimate the
    Content-Length stands. Nothing here limits the download, which counts the bytes that
    really arrive.
    """
    if fmt.get("filesize") or fmt.get("filesize_approx"):
        return
    if probed.read_all and probed.read_bytes:
        fmt["filesize"] = probed.read_bytes
        return
    estimate = _estimated_bytes(probed)
    announced = probed.announced_bytes
    if announced and sizes_agree(announced, estimate):
        fmt["filesize"] = announced
        return
    if announced:
        logger.info(
            "Ignoring the announced size of %s: %d bytes against an estimate of %s",
            without_query(str(fmt["url"])),
            announced,
            estimate,
        )
    if estimate:
        # at least what came: the estimate's duration may be only that of the first bytes
        fmt["filesize_approx"] = max(estimate, probed.read_bytes)


def sizes_agree(announced: int | None, estimate: int | None) -> bool:
    """Whether a size a server declares is credible next to the media's own estimate
    (within `_SIZE_TOLERANCE` either way); without either, nothing disputes it."""
    if announced is None or estimate is None:
        return True
    return estimate / _SIZE_TOLERANCE <= announced <= estimate * _SIZE_TOLERANCE


def _estimated_bytes(probed: FileProbe) -> int | None:
    """Bit rate × duration of the probed media, when every stream's rate is known."""
    facts = probed.facts
    if facts is None or not facts.duration_s:
        return None
    bit_rate = facts.bit_rate
    if not bit_rate:
        rates = probed.rates or {}
        wanted = [
            rates.get(key)
            for key, stream in (("vbr", facts.video), ("abr", facts.audio))
            if stream is not None
        ]
        if not wanted or not all(wanted):
            return None
        bit_rate = int(sum(rate or 0 for rate in wanted) * 1000)
    return int(bit_rate / 8 * facts.duration_s)


def probe_file(session: YtdlSession, fmt: InfoDict) -> FileProbe:
    """ffprobe's facts about the file of `fmt`, read from its first bytes (blocking).

    The request carries the format's `http_headers` (a page's embeds may need their
    Referer). A body shorter than its Content-Length ends where it ends: the bytes that
    came are judged, not the server's claim. When the Content-Length and the media's own
    estimate disagree (`sizes_agree`), the body is read on, unused, up to `_SIZE_CHECK_BYTES`:
    a body that ends by then has its exact size. The facts are None when ffprobe is not
    installed, without streams when it read the file and found nothing it knows. The
    command and its parsing are `media.probe`'s; only the feeding of the bytes (from
    yt-dlp, blocking) is done here.
    """
    url = str(fmt["url"])
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; direct links get no resolution list")
        return FileProbe(None)
    request_headers = {str(k): str(v) for k, v in (fmt.get("http_headers") or {}).items()}
    headers: dict[str, str] = {}
    with session.open() as ydl:
        chunks = session.fetch(
            ydl, url, headers=request_headers, on_headers=headers.update, trust_length=False
        )
        stdout, received, ended = _feed_ffprobe(executable, chunks)
        length_text = headers.get("Content-Length") or headers.get("content-length") or ""
        probed = FileProbe(
            _NOT_MEDIA,
            announced_bytes=int(length_text) if length_text.isdigit() else None,
            read_bytes=received,
            read_all=ended,
        )
        try:
            facts = parse_probe_output(stdout, url) if stdout else None
        except ProbeError:
            facts = None
        if facts is None:
            logger.info("ffprobe could not describe %s", without_query(url))
            return probed  # read, and not media: no streams
        probed = dataclasses.replace(probed, facts=facts, rates=_declared_rates(stdout, facts))
        if ended or sizes_agree(probed.announced_bytes, _estimated_bytes(probed)):
            return probed
        for chunk in chunks:
            received += len(chunk)
            if received >= _SIZE_CHECK_BYTES:
                return dataclasses.replace(probed, read_bytes=received)
        return dataclasses.replace(probed, read_bytes=received, read_all=True)


def _feed_ffprobe(executable: str, chunks: Iterator[bytes]) -> tuple[bytes, int, bool]:
    """ffprobe's JSON report on the bytes of `chunks` (empty when it failed), the bytes
    taken from `chunks`, and whether they ran out (the body's end) before ffprobe had
    enough or `_PROBE_BYTES_LIMIT` was reached. `chunks` is left open where it stopped."""
    process = subprocess.Popen(
        [executable, *probe_command("pipe:0")[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    # ffprobe's report is read while the bytes go in: a report larger than the pipe's buffer
    # would otherwise block ffprobe, which then stops reading, and the write below with it.
    output = bytearray()
    stdout_pipe = process.stdout
    reader = threading.Thread(target=lambda: output.extend(stdout_pipe.read()), daemon=True)
    reader.start()
    received, ended = 0, False
    try:
        for chunk in chunks:
            received += len(chunk)
            try:
                process.stdin.write(chunk)
            except BrokenPipeError:
                break  # ffprobe has read enough
            if received >= _PROBE_BYTES_LIMIT:
                break
        else:
            ended = True
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return (bytes(output) if process.returncode == 0 else b""), received, ended


def _declared_rates(raw: bytes, facts: MediaInfo) -> dict[str, float | None]:
    """`vbr` and `abr` (kbit/s) from the streams' `bit_rate` in ffprobe's output."""
    try:
        streams: list[dict[str, Any]] = json.loads(raw).get("streams") or []
    except ValueError:
        return {}
    by_index = {stream.get("index"): stream.get("bit_rate") for stream in streams}
    rates: dict[str, float | None] = {}
    for key, stream in (("vbr", facts.video), ("abr", facts.audio)):
        bit_rate = str(by_index.get(stream.index) or "") if stream is not None else ""
        rates[key] = int(bit_rate) / 1000 if bit_rate.isdigit() else None
    return rates
