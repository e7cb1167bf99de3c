"""Use case history: pages of delivered files, and a file sent again through the cached lane."""

from __future__ import annotations

import uuid
from datetime import timedelta

from mediabot.bot.usecases.choose import Refused
from mediabot.bot.usecases.history import PAGE_SIZE, SendingAgain, page, send_again
from mediabot.bot.usecases.limits import Limits, StackFull
from mediabot.domain.enums import RequestState
from tests.bot.usecases.bot_fakes import World

LIMITS = Limits(max_active=1, per_hour=5)


async def test_pages_are_latest_first_and_a_page_past_the_end_is_the_last() -> None:
    world = World()
    user = world.user()
    delivered = [
        world.delivered(user, finished_at=world.now - timedelta(minutes=n)) for n in range(12)
    ]
    first = await page(world.ports, user, 0)
    assert (first.page, first.pages, first.first) == (0, 2, 1)
    assert list(first.files) == delivered[:PAGE_SIZE]
    last = await page(world.ports, user, 10_000)
    assert (last.page, last.first, list(last.files)) == (1, 11, delivered[PAGE_SIZE:])
    assert not world.open


async def test_no_history_is_no_pages() -> None:
    world = World()
    empty = await page(world.ports, world.user(), 3)
    assert (empty.pages, list(empty.files)) == (0, [])


async def test_a_delivered_file_is_queued_again_answered_then_published_cached() -> None:
    world = World()
    user, chat = world.user(), uuid.uuid4()
    delivered = world.delivered(user)
    await send_again(world.ports, delivered.id, user, chat, LIMITS, world.reply)
    [sending] = world.replies
    assert isinstance(sending, SendingAgain) and sending.delivered == delivered.id
    again = world.files[sending.request_id]
    assert (again.state, again.media_key, again.chat_id) == (
        RequestState.QUEUED,
        delivered.media_key,
        chat,
    )
    assert world.published == [(again.id, True)]
    assert world.events[-3:] == ["commit", "reply", "publish"]


async def test_someone_elses_or_an_undelivered_file_is_not_available() -> None:
    world = World()
    user = world.user()
    theirs = world.delivered(world.user(2))
    running = world.request(user, RequestState.DOWNLOADING)
    for file_id in (theirs.id, running.id, uuid.uuid4()):
        await send_again(world.ports, file_id, user, uuid.uuid4(), LIMITS, world.reply)
    assert world.replies == [Refused.NOT_AVAILABLE] * 3
    assert world.published == []


async def test_a_resend_counts_against_the_stack() -> None:
    world = World()
    user = world.user()
    delivered = world.delivered(user)
    world.request(user, RequestState.QUEUED)
    await send_again(world.ports, delivered.id, user, uuid.uuid4(), LIMITS, world.reply)
    assert isinstance(world.replies[0], StackFull)
    assert world.published == []
