"""Use case playlists: one choice queues every item (cached first), the ✖ ends the rest,
the row under a video's offer opens the playlist's own offer."""

from __future__ import annotations

import uuid

from mediabot.bot.usecases.choose import Refused
from mediabot.bot.usecases.limits import Limits, StackFull
from mediabot.bot.usecases.playlists import (
    ItemsQueued,
    PlaylistCancelled,
    cancel,
    choose,
    offer_of,
    shown_on,
)
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Pick
from mediabot.domain.playlist import PlaylistOptions, PlaylistTally
from tests.bot.usecases.bot_fakes import SETTLES_IN_S, World

LIMITS = Limits(max_active=2, per_hour=5)


async def test_a_choice_queues_every_item_cached_first_then_publishes_them_in_turn() -> None:
    world = World()
    user = world.user()
    playlist = world.playlist(user)
    world.delivered(world.user(2), media_key="generic:item3", kind=MediaKind.VIDEO, resolution=720)
    await choose(world.ports, playlist, Pick(MediaKind.VIDEO, 720), user, LIMITS, world.reply)
    assert world.replies == [ItemsQueued(3)]
    items = world.items_of(playlist.id)
    assert [item.media_key for item in items] == ["generic:item3", "generic:item1", "generic:item2"]
    assert {(item.kind, item.resolution) for item in items} == {(MediaKind.VIDEO, 720)}
    assert world.published == [(item.id, False) for item in items]
    assert world.events[-5:] == ["commit", "reply", "publish", "publish", "publish"]


async def test_the_playlist_counts_as_one_against_the_stack() -> None:
    world = World()
    user = world.user()
    first = world.playlist(user)
    await choose(world.ports, first, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    second = world.playlist(user)
    await choose(world.ports, second, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    third = world.playlist(user)
    await choose(world.ports, third, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    assert world.replies[:2] == [ItemsQueued(3), ItemsQueued(3)]
    assert isinstance(world.replies[2], StackFull)
    assert world.items_of(third.id) == []


async def test_heights_off_the_ladder_and_taken_or_ended_playlists_are_refused() -> None:
    world = World()
    user = world.user()
    playlist = world.playlist(user)
    await choose(world.ports, playlist, Pick(MediaKind.VIDEO, 721), user, LIMITS, world.reply)
    await choose(world.ports, playlist, Pick(MediaKind.PHOTO), user, LIMITS, world.reply)
    await choose(world.ports, playlist, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    await choose(world.ports, playlist, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    ended = world.playlist(user, state=RequestState.CANCELLED)
    await choose(world.ports, ended, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    assert world.replies == [
        Refused.NOT_AVAILABLE,
        Refused.NOT_AVAILABLE,
        ItemsQueued(3),
        Refused.ALREADY_CHOSEN,
        Refused.NOT_AVAILABLE,
    ]
    assert len(world.published) == 3


async def test_items_not_published_in_time_wait_for_recovery() -> None:
    world = World(publish_works=False)
    user = world.user()
    playlist = world.playlist(user)
    await choose(world.ports, playlist, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    assert world.events.count("publish") == 1  # the rest are not tried
    assert all(item.state is RequestState.QUEUED for item in world.items_of(playlist.id))


async def test_the_cross_ends_what_is_left_once() -> None:
    world = World()
    user = world.user()
    playlist = world.playlist(user)
    await choose(world.ports, playlist, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    world.items_of(playlist.id)[0].state = RequestState.DELIVERED
    cancelled = await cancel(world.ports, playlist)
    assert cancelled == PlaylistCancelled(
        PlaylistTally(total=3, delivered=1, cancelled=2), SETTLES_IN_S
    )
    assert not world.open
    assert await cancel(world.ports, playlist) is None


async def test_an_offered_playlist_opens_and_its_buttons_count_where_shown() -> None:
    world = World()
    playlist = world.playlist(world.user(), count=2, total_count=40, skipped_count=1)
    options = offer_of(playlist)
    assert isinstance(options, PlaylistOptions)
    assert (options.title, len(options.entries), options.total_count, options.skipped) == (
        "My list",
        2,
        40,
        1,
    )
    await shown_on(world.ports, playlist.id, 99)
    assert playlist.status_message_id == 99 and not world.open
    await shown_on(world.ports, uuid.uuid4(), 100)  # gone meanwhile: nothing to record
    playlist.state = RequestState.ACCEPTED
    assert offer_of(playlist) is Refused.ALREADY_CHOSEN
