"""Use case choose: a press on an offer is recorded, answered, then published; or refused."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from mediabot.bot.usecases.choose import CancelOutcome, Queued, Refused, cancel, choose
from mediabot.bot.usecases.limits import HourlyLimit, Limits, StackFull
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Pick
from tests.bot.usecases.bot_fakes import FakeUsers, World

LIMITS = Limits(max_active=2, per_hour=5)
AUDIO = Pick(MediaKind.AUDIO)


async def test_a_press_queues_the_request_answers_then_publishes() -> None:
    world = World()
    user = world.user()
    ahead = world.now - timedelta(minutes=1)
    world.request(world.user(2), RequestState.QUEUED, queued_at=ahead)
    offer = world.offer(user)
    await choose(world.ports, offer, Pick(MediaKind.VIDEO, 720), user, LIMITS, world.reply)
    assert world.replies == [Queued(offer.id, position=1, cached=False)]
    assert world.published == [(offer.id, False)]
    assert world.events[-3:] == ["commit", "reply", "publish"]
    assert (offer.state, offer.kind, offer.resolution) == (
        RequestState.QUEUED,
        MediaKind.VIDEO,
        720,
    )


async def test_a_file_telegram_has_goes_to_the_cached_lane() -> None:
    world = World()
    user = world.user()
    offer = world.offer(user)
    world.delivered(world.user(2), media_key=offer.media_key, kind=MediaKind.AUDIO)
    await choose(world.ports, offer, AUDIO, user, LIMITS, world.reply)
    assert world.replies == [Queued(offer.id, position=0, cached=True)]
    assert world.published == [(offer.id, True)]


async def test_a_second_press_changes_nothing() -> None:
    world = World()
    user = world.user()
    offer = world.offer(user)
    await choose(world.ports, offer, AUDIO, user, LIMITS, world.reply)
    await choose(world.ports, offer, Pick(MediaKind.VIDEO, 360), user, LIMITS, world.reply)
    assert world.replies[1] is Refused.ALREADY_CHOSEN
    assert len(world.published) == 1
    assert offer.kind is MediaKind.AUDIO


async def test_a_choice_the_offer_never_had_or_an_ended_offer_is_not_available() -> None:
    world = World()
    user = world.user()
    offer = world.offer(user)
    for pick in (Pick(MediaKind.VIDEO, 1080), Pick(MediaKind.PHOTO)):
        await choose(world.ports, offer, pick, user, LIMITS, world.reply)
    ended = world.offer(user, state=RequestState.CANCELLED)
    await choose(world.ports, ended, AUDIO, user, LIMITS, world.reply)
    assert world.replies == [Refused.NOT_AVAILABLE] * 3
    assert world.published == []
    assert offer.state is RequestState.OFFERED


async def test_a_full_stack_is_refused_with_the_requests_in_flight() -> None:
    world = World()
    user = world.user()
    running = world.request(user, RequestState.DOWNLOADING)
    queued = world.request(user, RequestState.QUEUED, created_at=world.now + timedelta(seconds=1))
    offer = world.offer(user)
    await choose(world.ports, offer, AUDIO, user, LIMITS, world.reply)
    [refusal] = world.replies
    assert isinstance(refusal, StackFull) and refusal.limit == 2
    assert [item.file for item in refusal.in_flight] == [queued, running]  # newest first
    assert [item.position for item in refusal.in_flight] == [0, None]
    assert world.published == [] and offer.state is RequestState.OFFERED


async def test_the_hourly_limit_says_when_the_next_press_may_go() -> None:
    world = World()
    user = world.user()
    first = world.now - timedelta(minutes=50)
    for minutes in range(5):
        world.request(user, RequestState.DELIVERED, chosen_at=first + timedelta(minutes=minutes))
    offer = world.offer(user)
    await choose(world.ports, offer, AUDIO, user, LIMITS, world.reply)
    assert world.replies == [HourlyLimit(5, minutes=10, retry_at=first + timedelta(hours=1))]
    assert world.published == []


async def test_a_place_taken_meanwhile_is_seen_under_the_users_lock() -> None:
    world = World()
    user = world.user()
    world.request(user, RequestState.QUEUED)

    class RacingUsers(FakeUsers):
        async def lock(self, user_id: uuid.UUID) -> None:
            # Another press of this user's got in between the first count and the lock.
            self.world.request(user_id, RequestState.QUEUED)
            await super().lock(user_id)

    offer = world.offer(user)
    ports = replace(world.ports, users=RacingUsers(world))
    await choose(ports, offer, AUDIO, user, LIMITS, world.reply)
    [refusal] = world.replies
    assert isinstance(refusal, StackFull) and len(refusal.in_flight) == 2
    assert user in world.locked
    assert world.published == [] and offer.state is RequestState.OFFERED


async def test_a_job_not_published_in_time_leaves_the_request_queued() -> None:
    world = World(publish_works=False)
    user = world.user()
    offer = world.offer(user)
    await choose(world.ports, offer, AUDIO, user, LIMITS, world.reply)
    assert world.replies == [Queued(offer.id, position=0, cached=False)]
    assert world.events[-1] == "publish" and world.published == []
    assert offer.state is RequestState.QUEUED  # the workers' recovery publishes it


async def test_the_cross_cancels_until_the_request_ends() -> None:
    world = World()
    user = world.user()
    offer = world.offer(user)
    assert await cancel(world.ports, offer) is CancelOutcome.CANCELLED
    assert offer.state is RequestState.CANCELLED and not world.open
    assert await cancel(world.ports, offer) is CancelOutcome.NOT_AVAILABLE
    running = world.request(user, RequestState.DOWNLOADING)
    assert await cancel(world.ports, running) is CancelOutcome.CANCELLED
