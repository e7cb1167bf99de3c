"""Step clean up: the request's work folder goes, with everything in it; others stay."""

from __future__ import annotations

import uuid
from pathlib import Path

from mediabot.worker.steps.clean_up import clean_up


def test_the_request_folder_goes_and_others_stay(tmp_path: Path) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    (tmp_path / str(mine) / "parts").mkdir(parents=True)
    (tmp_path / str(mine) / "parts" / "a.mp4").write_bytes(b"x")
    (tmp_path / str(other)).mkdir()
    clean_up(tmp_path, mine)
    clean_up(tmp_path, mine)  # nothing there any more: no error
    assert [path.name for path in tmp_path.iterdir()] == [str(other)]
