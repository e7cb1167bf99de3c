"""The providers' cookies files are checked once at start: one clear line when unusable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mediabot.config import ConfigError
from mediabot.downloaders import DownloadOptions
from mediabot.downloaders.cookies import check_cookies_files

NETSCAPE = (
    "# Netscape HTTP Cookie File\n"
    ".youtube.com\tTRUE\t/\tTRUE\t2000000000\tSID\tabc\n"
    ".youtube.com\tTRUE\t/\tTRUE\t2000000000\tHSID\tdef\n"
    ".google.com\tTRUE\t/\tTRUE\t2000000000\tNID\tghi\n"
)


def test_a_usable_file_is_counted_for_its_site(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cookies = tmp_path / "yt.txt"
    cookies.write_text(NETSCAPE)
    with caplog.at_level(logging.INFO, "mediabot.downloaders.cookies"):
        check_cookies_files(DownloadOptions(cookies_files={"youtube": cookies}))
    assert "YOUTUBE_COOKIES_FILE: 2 cookies for youtube.com" in caplog.text


def test_a_file_without_the_sites_cookies_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cookies = tmp_path / "ig.txt"
    cookies.write_text(NETSCAPE)
    check_cookies_files(DownloadOptions(cookies_files={"instagram": cookies}))
    [record] = [r for r in caplog.records if r.name == "mediabot.downloaders.cookies"]
    assert record.levelno == logging.WARNING
    assert "INSTAGRAM_COOKIES_FILE" in record.getMessage()
    assert "no cookies for instagram.com" in record.getMessage()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        ('{"cookies": [{"name": "SID"}]}\n', "not a Netscape-format cookies file"),
        (b"\xff\xfe\x00garbage", "not a Netscape-format cookies file"),
    ],
)
def test_a_missing_or_malformed_file_stops_the_start_with_one_line(
    tmp_path: Path, content: str | bytes | None, problem: str
) -> None:
    cookies = tmp_path / "cookies.txt"
    if isinstance(content, str):
        cookies.write_text(content)
    elif isinstance(content, bytes):
        cookies.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        check_cookies_files(DownloadOptions(cookies_files={"youtube": cookies}))
    message = str(caught.value)
    assert message.startswith("YOUTUBE_COOKIES_FILE: ")
    assert problem in message
    assert "\n" not in message


def test_no_files_nothing_to_check() -> None:
    check_cookies_files(DownloadOptions())
