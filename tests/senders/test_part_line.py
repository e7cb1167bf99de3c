"""The upload line both part senders share, on made-up parts (nothing on disk, no Telegram).

Parts go up in order, the next made while one uploads but never more than the slots allow;
each is released exactly once whether it was accepted, refused or left over; a 413 hands
the refused part back; an error making a part is raised after the parts before it are
posted; a maker that stops before the last part is an error, not a wait; the maker is
closed whatever ends the line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramEntityTooLarge, TelegramNetworkError
from aiogram.methods import SendVideo
from aiogram.types import Chat, Message

from mediabot.media.parts import CutPart
from mediabot.senders.base import DeliveryError
from mediabot.senders.part_line import limit_after_refused, shrunk_limit, upload_parts

METHOD = SendVideo(chat_id=1, video="x")


@dataclass(slots=True)
class _Made:
    part: CutPart
    releases: list[int]

    async def release(self) -> None:
        self.releases.append(self.part.index)


@dataclass(slots=True)
class _Maker:
    """Makes `count` parts (the last marked so unless `unfinished`), failing with
    `error` in place of part `fail_at`; records what it made, what was live then, and
    whether it was closed."""

    count: int
    fail_at: int | None = None
    error: Exception = field(default_factory=lambda: RuntimeError("cut failed"))
    unfinished: bool = False
    made: list[int] = field(default_factory=list)
    live_when_made: list[int] = field(default_factory=list)
    releases: list[int] = field(default_factory=list)
    closed: bool = False
    made_event: dict[int, asyncio.Event] = field(default_factory=dict)

    def event(self, index: int) -> asyncio.Event:
        return self.made_event.setdefault(index, asyncio.Event())

    async def parts(self) -> AsyncGenerator[_Made, None]:
        try:
            for index in range(self.count):
                if index == self.fail_at:
                    raise self.error
                self.live_when_made.append(len(self.made) - len(self.releases))
                self.made.append(index)
                is_last = index == self.count - 1 and not self.unfinished
                part = CutPart(Path(f"p{index}"), index, index, index + 1, 100 + index, is_last)
                self.event(index).set()
                yield _Made(part, self.releases)
        finally:
            self.closed = True


def _message(index: int) -> Message:
    return Message(message_id=index + 1, date=datetime.now(UTC), chat=Chat(id=1, type="private"))


async def _run(
    maker: _Maker, *, on_disk: int, refuse: int | None = None, fail_post: int | None = None
) -> tuple[_Made | None, list[int], list[int]]:
    """The line over `maker`: what it returned, which parts were posted, which accepted.
    A post waits for the next part to be made (when there is one to wait for and a slot
    for it), so making overlaps uploading as in the senders."""
    posted: list[int] = []
    accepted: list[int] = []

    async def post(item: _Made) -> Message:
        index = item.part.index
        posted.append(index)
        ahead = index + 1
        if on_disk > 1 and ahead < maker.count and ahead != maker.fail_at:
            await maker.event(ahead).wait()
        if index == refuse:
            raise TelegramEntityTooLarge(METHOD, "Request Entity Too Large")
        if index == fail_post:
            raise TelegramNetworkError(METHOD, "connection reset")
        return _message(index)

    async def accept(item: _Made, message: Message) -> None:
        assert message.message_id == item.part.index + 1
        accepted.append(item.part.index)

    result = await upload_parts(maker.parts(), on_disk=on_disk, post=post, accept=accept)
    return result, posted, accepted


@pytest.mark.parametrize("on_disk", [1, 2, 3])
async def test_parts_go_up_in_order_within_their_slots(on_disk: int) -> None:
    maker = _Maker(count=5)
    result, posted, accepted = await _run(maker, on_disk=on_disk)
    assert result is None
    assert posted == accepted == [0, 1, 2, 3, 4]
    assert maker.releases == [0, 1, 2, 3, 4]
    assert max(maker.live_when_made) == on_disk - 1
    assert maker.closed


async def test_a_refused_part_is_handed_back_and_the_rest_released() -> None:
    maker = _Maker(count=5)
    result, posted, accepted = await _run(maker, on_disk=2, refuse=1)
    assert result is not None
    assert result.part.index == 1
    assert posted == [0, 1]
    assert accepted == [0]
    # part 2 was made while part 1 went up: released as a leftover, once
    assert sorted(maker.releases) == [0, 1, 2]
    assert maker.made == [0, 1, 2]
    assert maker.closed


async def test_an_error_making_a_part_comes_after_the_parts_before_it() -> None:
    maker = _Maker(count=5, fail_at=2)
    with pytest.raises(RuntimeError, match="cut failed"):
        await _run(maker, on_disk=2)
    assert maker.made == [0, 1]
    assert maker.releases == [0, 1]
    assert maker.closed


async def test_a_failed_post_releases_every_part_once() -> None:
    maker = _Maker(count=5)
    with pytest.raises(TelegramNetworkError):
        await _run(maker, on_disk=2, fail_post=1)
    assert sorted(maker.releases) == [0, 1, 2]
    assert maker.closed


async def test_parts_that_stop_before_the_last_are_an_error() -> None:
    maker = _Maker(count=3, unfinished=True)
    with pytest.raises(DeliveryError, match="before the last"):
        await _run(maker, on_disk=2)
    assert maker.releases == [0, 1, 2]
    assert maker.closed


async def test_a_cancelled_line_releases_what_it_holds() -> None:
    maker = _Maker(count=5)
    posting = asyncio.Event()

    async def post(item: _Made) -> Message:
        posting.set()
        await asyncio.Event().wait()  # never answered
        raise AssertionError("unreachable")

    async def accept(item: _Made, message: Message) -> None:
        raise AssertionError("nothing is accepted")

    line = asyncio.create_task(upload_parts(maker.parts(), on_disk=2, post=post, accept=accept))
    await posting.wait()
    await maker.event(1).wait()
    line.cancel()
    with pytest.raises(asyncio.CancelledError):
        await line
    assert sorted(maker.releases) == [0, 1]
    assert maker.closed


def test_the_limit_after_a_refusal_is_below_the_limit_and_the_part() -> None:
    part = CutPart(Path("p"), 3, 0.0, 1.0, 1_000, False)
    assert limit_after_refused(2_000, part) == 850
    assert limit_after_refused(800, part) == 799
    assert shrunk_limit(10, 1_000_000) == 9
