"""The peak bytes of a work folder while a delivery runs, sampled in a thread (its
subfolders, such as the splitter's cache, included), and waiting on files."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class DiskSampler:
    """The peak of the bytes of the files in a folder, sampled in a thread."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._stop = threading.Event()
        self.peak = 0
        self.at_peak: list[tuple[str, int]] = []

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            total = sum(size for _, size in self._listing())
            if total > self.peak:
                self.peak, self.at_peak = total, self._listing()

    def _listing(self) -> list[tuple[str, int]]:
        sizes = []
        # os.walk skips a folder deleted while it is listed (the cache, once closed)
        for folder, _, names in os.walk(self._folder):
            for name in names:
                path = Path(folder) / name
                try:
                    sizes.append((str(path.relative_to(self._folder)), path.stat().st_size))
                except FileNotFoundError:
                    continue
        return sorted(sizes)

    @contextmanager
    def running(self) -> Iterator[DiskSampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def listing(folder: Path) -> list[str]:
    """The names in `folder`, sorted: what a cut or a delivery left behind."""
    return sorted(path.name for path in folder.iterdir())


async def eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait until `condition()` holds: files and another thread's state give no event."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - nothing to await: polled
            await asyncio.sleep(0.005)
