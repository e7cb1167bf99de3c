"""What `mediabot formats` and `mediabot download` pay before the first request.

The CLI runs as a fresh process per link, so its start-up is the wrapper's whole cost
next to plain yt-dlp (bench/bench_download.py). These tests keep the cheap path cheap.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import yt_dlp

from mediabot.downloaders.guarded import GuardedYoutubeDL
from tests.support.media import MediaSources

# The bot, the worker, the queue and the database: none of them is needed to fetch a link.
# (The settings are pydantic-settings, the project's one settings object, and do load.)
NOT_IMPORTED = (
    "aiogram",
    "aiohttp",
    "aio_pika",
    "aiormq",
    "alembic",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "mediabot.bot",
    "mediabot.worker",
    "mediabot.queue",
    "mediabot.db",
    "mediabot.senders",
    "mediabot.telegram",
    "mediabot.media.cutters",
)


def _imported_modules(stderr: str) -> set[str]:
    """Module names from `python -X importtime` output (`import time: self | cumul | name`)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    names.discard("imported package")
    return names


@pytest.mark.integration
@pytest.mark.parametrize("command", ["formats", "download"])
def test_the_link_commands_import_nothing_of_the_bot(
    media: MediaSources, tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out"
    args = [media.dash_mpd] if command == "formats" else [media.dash_mpd, "--res", "360"]
    args += ["-o", str(out)] if command == "download" else []
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BOT_TOKEN", "DATABASE_URL", "AMQP_URL", "PYTHONPROFILEIMPORTTIME")
    }
    env.update(ALLOW_PRIVATE_URLS="true", DATA_DIR=str(tmp_path / "data"))
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mediabot", command, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    if command == "download":
        assert len(list(out.iterdir())) == 1
    modules = _imported_modules(run.stderr)
    assert "yt_dlp" in modules and "mediabot.downloaders.base" in modules  # the parse works
    loaded = sorted(
        name
        for name in modules
        if any(name == banned or name.startswith(banned + ".") for banned in NOT_IMPORTED)
    )
    assert loaded == []


def test_guarded_youtubedl_loads_yt_dlps_default_extractors_in_order() -> None:
    # GuardedYoutubeDL builds the default extractor list itself (yt-dlp's costs ~35 ms per
    # instance); it must be the very list yt-dlp would use, or links would match differently.
    plain = yt_dlp.YoutubeDL({"quiet": True})
    guarded = GuardedYoutubeDL({"quiet": True}, allow_private=False)
    assert len(guarded._ies) > 1000
    assert list(guarded._ies) == list(plain._ies)
    assert all(guarded._ies[key] is ie for key, ie in plain._ies.items())


def test_guarded_youtubedl_honours_allowed_extractors() -> None:
    params = {"quiet": True, "allowed_extractors": ["generic", "youtube"]}
    guarded = GuardedYoutubeDL(params, allow_private=False)
    assert list(guarded._ies) == list(yt_dlp.YoutubeDL(params)._ies) == ["Generic", "Youtube"]


def _tls_context(ydl: GuardedYoutubeDL) -> ssl.SSLContext:
    (handler,) = [h for h in ydl._request_director.handlers.values() if h.RH_NAME == "requests"]
    context: ssl.SSLContext = handler._make_sslcontext()
    return context


@pytest.mark.parametrize("allow_private", [False, True])
def test_youtubedls_share_one_tls_context_per_configuration(allow_private: bool) -> None:
    # The probe and the fetch each make a YoutubeDL; the CA bundle is loaded once, not twice.
    first = GuardedYoutubeDL({"quiet": True}, allow_private=allow_private)
    second = GuardedYoutubeDL({"quiet": True}, allow_private=allow_private)
    unchecked = GuardedYoutubeDL(
        {"quiet": True, "nocheckcertificate": True}, allow_private=allow_private
    )
    assert _tls_context(first) is _tls_context(second)
    assert _tls_context(first).verify_mode == ssl.CERT_REQUIRED
    assert _tls_context(unchecked) is not _tls_context(first)
    assert _tls_context(unchecked).verify_mode == ssl.CERT_NONE
