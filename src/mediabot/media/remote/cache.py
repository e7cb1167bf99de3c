"""Blocks of remote files kept on disk, at most a budget of them, evicted by position.

A byte of a remote file is fetched from the origin once, then read from here as often as
ffprobe and ffmpeg need it. Blocks are evicted by position, not by use: the cutter reads
forward, so when the cache is full the block furthest behind (by its place in its file) goes
first: that is a block already cut into a part. Each file's first `PINNED_BLOCKS` blocks
(the container header and the first packets, re-read by every run of ffprobe and ffmpeg to
identify the streams), and the blocks pinned as an MP4's index, are kept until the end,
outside the budget.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

BLOCK_BYTES = 128 * 1024
"""The unit fetched from the origin, cached on disk and evicted."""
PINNED_BLOCKS = 4
"""Leading blocks of each file kept outside the budget (512 KiB per file): the header and
the first packets, which every run of ffprobe and ffmpeg reads to identify the streams."""


@dataclass(frozen=True, slots=True)
class BlockKey:
    """Block `block` (its first byte at `block * BLOCK_BYTES`) of input `input_index`."""

    input_index: int
    block: int


class BlockCache:
    """Blocks of the remote inputs in files under `folder`, at most `budget_bytes` of them.

    When full, the block furthest behind goes first: the lowest share of its own file (so a
    video and its audio track, read at the same pace in time, are compared fairly). A file's
    first `PINNED_BLOCKS` blocks are kept and not counted.
    """

    def __init__(self, folder: Path, budget_bytes: int) -> None:
        self._folder = folder
        self.budget_bytes = budget_bytes
        self._pinned: set[BlockKey] = set()
        self._blocks: dict[BlockKey, int] = {}
        self._sizes: dict[int, int] = {}
        self._total = 0
        self.consuming = False
        """While a last pass reads forward (see `RemoteInputs.consuming`), the blocks ahead
        of it are about to be read: evict from the far end instead, so a window larger than
        the budget costs a re-read of its end, not of every block one after another."""

    def know_size(self, input_index: int, size: int) -> None:
        self._sizes[input_index] = max(size, 1)

    @property
    def total_bytes(self) -> int:
        """Bytes of the blocks counted against the budget (the pinned ones are not)."""
        return self._total

    def has_room(self) -> bool:
        """Whether one more block fits in the budget without evicting another."""
        return self._total + BLOCK_BYTES <= self.budget_bytes

    def pin(self, input_index: int, blocks: range) -> None:
        """Keep `blocks` of one input until the end, outside the budget (an MP4's index)."""
        for number in blocks:
            key = BlockKey(input_index, number)
            if not self._is_pinned(key):
                self._pinned.add(key)
                self._total -= self._blocks.get(key, 0)

    def is_pinned(self, input_index: int, block: int) -> bool:
        return self._is_pinned(BlockKey(input_index, block))

    async def get(self, key: BlockKey) -> bytes | None:
        if key not in self._blocks:
            return None
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def put(self, key: BlockKey, data: bytes) -> None:
        await asyncio.to_thread(self._path(key).write_bytes, data)
        if not self._is_pinned(key):
            self._total += len(data) - self._blocks.get(key, 0)
        self._blocks[key] = len(data)
        while self._total > self.budget_bytes:
            candidates = [k for k in self._blocks if not self._is_pinned(k) and k != key]
            if not candidates:
                break
            pick = max if self.consuming else min
            old = pick(candidates, key=self._place)
            self._total -= self._blocks.pop(old)
            self._path(old).unlink(missing_ok=True)

    def drop(self, input_index: int, blocks: range) -> None:
        """Forget `blocks` of one input (the pinned ones stay)."""
        for number in blocks:
            key = BlockKey(input_index, number)
            if not self._is_pinned(key) and key in self._blocks:
                self._total -= self._blocks.pop(key)
                self._path(key).unlink(missing_ok=True)

    def drop_below(self, input_index: int, block: int) -> None:
        """Forget the blocks of one input before `block` (the pinned ones stay)."""
        behind = [k for k in self._blocks if k.input_index == input_index and k.block < block]
        for key in behind:
            if not self._is_pinned(key):
                self._total -= self._blocks.pop(key)
                self._path(key).unlink(missing_ok=True)

    def _is_pinned(self, key: BlockKey) -> bool:
        return key.block < PINNED_BLOCKS or key in self._pinned

    def _path(self, key: BlockKey) -> Path:
        return self._folder / f"{key.input_index}-{key.block:08d}.blk"

    def _place(self, key: BlockKey) -> float:
        return key.block * BLOCK_BYTES / self._sizes.get(key.input_index, 1)
