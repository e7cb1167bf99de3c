"""The peak bytes of a work folder while a delivery runs, sampled in a thread (its
subfolders, such as the splitter's cache, included)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
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
