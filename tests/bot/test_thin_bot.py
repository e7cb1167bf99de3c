"""The bot process stays thin: it never loads yt-dlp, the downloaders, the media tools or
the worker, so it cannot run a lookup or start ffmpeg/ffprobe, and its CPU per update is
the dispatcher's and the database's only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mediabot

_LOADED_BY_THE_BOT = """
import json, sys
import mediabot.cli
import mediabot.app.processes
import mediabot.bot.dispatcher
import mediabot.bot.webhook
from mediabot.bot.handlers import routers
routers()
heavy = ("yt_dlp", "mediabot.worker", "mediabot.media", "mediabot.senders")
light = ("mediabot.downloaders", "mediabot.downloaders.errors", "mediabot.downloaders.options")
print(json.dumps(sorted(
    name for name in sys.modules
    if name.startswith(heavy) or (name.startswith("mediabot.downloaders") and name not in light)
)))
"""


def test_the_bot_process_never_imports_yt_dlp_nor_the_worker() -> None:
    src = str(Path(mediabot.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_BY_THE_BOT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout) == []


def test_the_check_sees_a_heavy_import() -> None:
    """The check can fail: the worker half does load yt-dlp."""
    src = str(Path(mediabot.__file__).parents[1])
    code = _LOADED_BY_THE_BOT.replace("routers()", "routers()\nimport mediabot.app.workers")
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "yt_dlp" in json.loads(done.stdout)
