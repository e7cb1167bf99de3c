"""The test bench: real services, media made with ffmpeg, a fake Telegram Bot API."""

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.services",
    "tests.support.media_fixtures",
    "tests.support.telegram_fixtures",
]


_FIRST = ("e2e", "deploy")
"""Folders whose modules start mediabot processes and wait on them: the longest modules.
Run first, so that under `-n` (see `.ci/run`) the short ones fill in around them instead
of one of them starting last and running alone."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    items.sort(key=lambda item: item.path.relative_to(here).parts[0] not in _FIRST)
