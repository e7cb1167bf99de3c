"""What a media file's streams are, byte for byte: per-stream and per-packet hashes by ffmpeg."""

from __future__ import annotations

import asyncio
from pathlib import Path


async def _ffmpeg(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, args
    return out.decode()


async def stream_hashes(path: Path) -> list[str]:
    """One "index,type,MD5=…" line per stream: the MD5 of its packets' bytes, read by
    stream copy (`-f streamhash`), so two files agree only when each stream's data does."""
    out = await _ffmpeg("-i", str(path), "-map", "0", "-c", "copy", "-f", "streamhash", "-")
    return out.split()


async def packet_hashes(path: Path) -> dict[int, list[str]]:
    """The MD5 of each packet's bytes, in order, per stream index (`-f framemd5`; the
    timestamps are left out, so parts cut from a file can be laid end to end)."""
    out = await _ffmpeg("-i", str(path), "-map", "0", "-c", "copy", "-f", "framemd5", "-")
    packets: dict[int, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        packets.setdefault(int(fields[0]), []).append(fields[-1])
    return packets
