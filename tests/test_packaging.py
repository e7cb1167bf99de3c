"""The wheel carries what `mediabot migrate` and the two languages need when installed from it."""

from __future__ import annotations

import gettext
import io
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("mediabot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mediabot/db/migrations/env.py" in names
    assert "mediabot/db/migrations/script.py.mako" in names
    assert "mediabot/db/migrations/versions/0001_initial_schema.py" in names
    assert "mediabot/db/migrations/versions/0002_fetch_started_at.py" in names
    assert "mediabot/py.typed" in names
    # The catalogs, compiled by the build hook (setup.py); the Russian one translates.
    mo = "mediabot/locales/ru/LC_MESSAGES/mediabot.mo"
    assert mo in names and "mediabot/locales/ru/LC_MESSAGES/mediabot.po" in names
    catalog = gettext.GNUTranslations(io.BytesIO(zipfile.ZipFile(wheel).read(mo)))
    assert catalog.gettext("Cancelled.") == "Отменено."
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "mediabot = mediabot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
