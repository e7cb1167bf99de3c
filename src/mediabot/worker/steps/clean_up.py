"""Step at every ending: nothing is left in the request's work folder."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path


def clean_up(work_dir: Path, request_id: uuid.UUID) -> None:
    """Remove the request's work folder (downloads, parts, thumbnails) and all in it."""
    shutil.rmtree(work_dir / str(request_id), ignore_errors=True)
