"""`mediabot download` in-process: what reaches the output folder, and how."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mediabot.app.tools import EXIT_OK, download_command
from mediabot.config import load_settings
from tests.support.media import MediaSources

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("audio", [False, True])
async def test_the_file_is_renamed_into_place_never_copied(
    media: MediaSources,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    audio: bool,
) -> None:
    # Every hop (yt-dlp's merge, the work folder, the staging folder, the output folder)
    # stays on one filesystem, so each must be a rename: a copy doubles the disk traffic.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"copied {args[:2]}")

    for name in ("copyfile", "copy2", "copy", "copyfileobj"):
        monkeypatch.setattr(shutil, name, refuse)
    settings = load_settings(allow_private_urls=True, data_dir=str(tmp_path / "data"))
    out = tmp_path / "out"

    code = await download_command(
        settings, media.long_dash_mpd, res=None if audio else 720, audio=audio, out_dir=out
    )

    assert code == EXIT_OK
    (printed,) = capsys.readouterr().out.splitlines()
    assert [path.name for path in out.iterdir()] == [Path(printed).name]  # no staging left
    assert Path(printed).suffix == (".m4a" if audio else ".mp4")
