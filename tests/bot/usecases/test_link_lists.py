"""A list of links sent as a file: read, decoded and asked for like a message's links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from mediabot.bot.usecases.link_lists import (
    ListAsked,
    ListProblem,
    ReadLinkList,
    decode_list,
    is_link_list,
)
from mediabot.bot.usecases.lookups import AskLookup
from mediabot.domain.clips import Clip, ClipProblem
from tests.bot.test_ask_lookup import PLACE, FakeLane, FakeRecords


def _reader(max_bytes: int = 1024) -> tuple[ReadLinkList, FakeRecords]:
    records = FakeRecords()
    return ReadLinkList(AskLookup(records, FakeLane()), max_links=3, max_bytes=max_bytes), records


def _serving(data: bytes) -> Callable[[], Awaitable[bytes]]:
    async def download() -> bytes:
        return data

    return download


def test_a_text_file_is_a_list_by_its_type_or_its_name() -> None:
    assert is_link_list("links.TXT", "application/octet-stream")
    assert is_link_list(None, "text/plain")
    assert not is_link_list("clip.mp4", "video/mp4")


def test_utf8_with_a_mark_and_latin1_are_read() -> None:
    assert decode_list("\ufeffhttps://a.example/é".encode()) == "https://a.example/é"
    assert decode_list("https://a.example/é".encode("latin-1")) == "https://a.example/é"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_with_their_mark_are_read(encoding: str) -> None:
    """Windows Notepad saves "Unicode" as UTF-16 with its mark: read as Latin-1, every
    other byte was a NUL, and the list had "no links"."""
    text = "ссылки\r\nhttps://a.example/é\r\n"
    data = ("\ufeff" + text).encode(encoding) if encoding.endswith("-be") else text.encode(encoding)
    assert decode_list(data) == text


async def test_the_links_are_asked_for_with_each_lines_clip() -> None:
    read, records = _reader()
    text = b"https://a.example/1 1:20-2:05\nyoutu.be/abc\n"
    outcome = await read(PLACE, 40, _serving(text))
    assert outcome == ListAsked(2, False, None)
    [request] = records.recorded
    assert request.urls == ["https://a.example/1", "https://youtu.be/abc"]
    assert request.clips == [Clip(80, 125).key, None]


async def test_links_over_the_limit_are_left_out_and_said_so() -> None:
    read, records = _reader()
    text = "\n".join(f"https://a.example/{n}" for n in range(5)).encode()
    outcome = await read(PLACE, None, _serving(text))
    assert isinstance(outcome, ListAsked) and outcome.truncated and outcome.count == 3
    assert len(records.recorded[0].urls) == 3


async def test_a_refused_range_asks_for_the_whole_video_and_says_why() -> None:
    read, records = _reader()
    outcome = await read(PLACE, None, _serving(b"https://a.example/1 2:05-1:20"))
    assert isinstance(outcome, ListAsked) and outcome.clip_refusal is not None
    assert outcome.clip_refusal.problem is ClipProblem.REVERSED
    assert records.recorded[0].clips is None


async def test_a_big_file_is_not_downloaded_and_an_empty_one_not_asked() -> None:
    read, records = _reader(max_bytes=10)

    async def never() -> bytes:
        raise AssertionError("downloaded")

    assert await read(PLACE, 11, never) is ListProblem.TOO_BIG
    assert await read(PLACE, None, _serving(b"x" * 11)) is ListProblem.TOO_BIG
    assert await read(PLACE, None, _serving(b"no links")) is ListProblem.NO_LINKS
    assert records.recorded == []


async def test_a_file_telegram_does_not_hand_over_is_said_so() -> None:
    read, _ = _reader()

    async def failing() -> bytes:
        raise OSError("connection reset")

    assert await read(PLACE, 10, failing) is ListProblem.UNREADABLE
