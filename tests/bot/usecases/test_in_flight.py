"""Use case in flight (/queue): the listing, a playlist as one line, and its ✖."""

from __future__ import annotations

import uuid
from datetime import timedelta

from mediabot.bot.usecases.in_flight import AlreadyOver, Cancelled, NotYours, cancel, listing
from mediabot.bot.usecases.limits import Limits
from mediabot.bot.usecases.playlists import choose
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Pick
from mediabot.domain.playlist import PlaylistTally
from tests.bot.usecases.bot_fakes import CHAT_ID, MESSAGE_ID, SETTLES_IN_S, World


async def test_the_listing_is_newest_first_with_a_playlist_as_its_item_on_turn() -> None:
    world = World()
    user = world.user()
    running = world.request(user, RequestState.DOWNLOADING)
    world.request(world.user(2), RequestState.QUEUED, queued_at=world.now - timedelta(hours=1))
    queued = world.request(user, RequestState.QUEUED, created_at=world.now + timedelta(seconds=1))
    playlist = world.playlist(user)
    await choose(world.ports, playlist, Pick(MediaKind.AUDIO), user, Limits(5, 5), world.reply)
    for item in world.items_of(playlist.id):
        item.created_at = world.now + timedelta(seconds=2)
    listed = await listing(world.ports, user)
    assert [item.file for item in listed] == [world.items_of(playlist.id)[0], queued, running]
    assert [item.position for item in listed] == [1, 1, None]
    assert not world.open


async def test_a_waiting_request_is_cancelled_and_its_status_named() -> None:
    world = World()
    user = world.user()
    queued = world.request(user, RequestState.QUEUED)
    cancelled = await cancel(world.ports, queued.id, user)
    assert cancelled == Cancelled(queued, None, (CHAT_ID, MESSAGE_ID))
    assert queued.state is RequestState.CANCELLED and not world.open
    assert isinstance(await cancel(world.ports, queued.id, user), AlreadyOver)


async def test_a_running_requests_worker_says_it_was_cancelled() -> None:
    world = World()
    user = world.user()
    running = world.request(user, RequestState.UPLOADING)
    cancelled = await cancel(world.ports, running.id, user)
    assert isinstance(cancelled, Cancelled) and cancelled.status is None


async def test_a_playlists_line_cancels_what_is_left_of_it() -> None:
    world = World()
    user = world.user()
    playlist = world.playlist(user)
    await choose(world.ports, playlist, Pick(MediaKind.AUDIO), user, Limits(5, 5), world.reply)
    first = world.items_of(playlist.id)[0]
    first.state = RequestState.DELIVERED
    cancelled = await cancel(world.ports, world.items_of(playlist.id)[1].id, user)
    assert isinstance(cancelled, Cancelled)
    assert cancelled.tally == PlaylistTally(total=3, delivered=1, cancelled=2)
    assert cancelled.settles_in == SETTLES_IN_S
    assert playlist.state is RequestState.CANCELLED


async def test_only_the_owner_cancels() -> None:
    world = World()
    theirs = world.request(world.user(2), RequestState.QUEUED)
    assert isinstance(await cancel(world.ports, theirs.id, world.user()), NotYours)
    assert isinstance(await cancel(world.ports, uuid.uuid4(), world.user()), NotYours)
    assert theirs.state is RequestState.QUEUED and not world.open
