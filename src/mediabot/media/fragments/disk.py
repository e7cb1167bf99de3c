"""The disk a fragmented delivery takes: the work folder's files, and what a running cut
will still write.

A cut is fed fragments and deletes each once fed, while its output grows: for a while a
fragment's bytes are neither on disk as a fragment nor yet in the part. `Backlog` counts
them from the moment they are fed, so the fetcher never takes the room they will take.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Backlog:
    """What a running cut will write: the fragments fed to ffmpeg (and deleted), which
    its output (`output`) becomes. Counted as disk in use from the moment they are fed."""

    output: Path
    fed_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fed(self, size: int) -> None:
        """Count a fragment fed, before it is deleted (from a feeding thread): for a moment
        it counts twice, never zero times."""
        with self._lock:
            self.fed_bytes += size


def disk_in_use(folder: Path, backlog: Backlog | None) -> int:
    """The bytes of the files directly in `folder`, with a running cut's output counted
    as what it will become: the larger of what it has written and what it was fed (the
    fed count is read after the listing, so a fragment deleted meanwhile still counts).
    Blocking: run in a thread."""
    total = 0
    written = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    if backlog is not None and entry.path == str(backlog.output):
                        written = size
                    else:
                        total += size
    if backlog is None:
        return total
    return total + max(written, backlog.fed_bytes)
