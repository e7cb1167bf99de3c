"""Use cases admin and language: statistics, bans, and the user's language."""

from __future__ import annotations

from mediabot.bot.usecases.admin import Banned, ban, stats
from mediabot.bot.usecases.language import choose_language
from mediabot.domain.enums import RequestState
from tests.bot.usecases.bot_fakes import World


async def test_the_statistics_are_counted_now_and_the_read_ended() -> None:
    world = World()
    world.user()
    counted = await stats(world.ports)
    assert counted.users == 1
    assert world.stats_asked_at == [world.now] and not world.open


async def test_a_ban_cancels_the_users_pending_requests_and_an_unban_none() -> None:
    world = World()
    user = world.user(42)
    queued = world.request(user, RequestState.QUEUED)
    delivered = world.delivered(user)
    others = world.request(world.user(43), RequestState.QUEUED)
    assert await ban(world.ports, 42, True) == Banned(found=True, cancelled=1)
    assert 42 in world.banned and not world.open
    assert (queued.state, queued.error_reason) == (RequestState.CANCELLED, "banned")
    assert delivered.state is RequestState.DELIVERED and others.state is RequestState.QUEUED
    assert await ban(world.ports, 42, False) == Banned(found=True, cancelled=0)
    assert 42 not in world.banned


async def test_an_unknown_user_is_not_found() -> None:
    world = World()
    assert await ban(world.ports, 99, True) == Banned(found=False)
    assert world.commits == 1


async def test_the_language_is_stored() -> None:
    world = World()
    user = world.user()
    await choose_language(world.ports, user, "ru")
    assert world.languages[user] == "ru" and not world.open
