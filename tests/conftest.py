"""The test bench: real services, media made with ffmpeg, a fake Telegram Bot API."""

from pathlib import Path

import pytest

from tests.support.forkserver import fork_server

pytest_plugins = [
    "tests.support.services",
    "tests.support.media_fixtures",
    "tests.support.telegram_fixtures",
]


_FIRST = ("e2e", "deploy")
"""Folders whose modules start mediabot processes and wait on them: the longest modules.
Run first, so that under `-n` (see `.ci/run`) the short ones fill in around them instead
of one of them starting last and running alone."""


def pytest_configure(config: pytest.Config) -> None:
    # Under xdist, the main process starts the fork server its workers share (one import of
    # mediabot for the run, not one per worker); it runs no test itself.
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        fork_server.share()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    items.sort(key=lambda item: item.path.relative_to(here).parts[0] not in _FIRST)
