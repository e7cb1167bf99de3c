"""Step resend from cache: file ids sent again; stale ones forgotten so the media is fetched."""

from __future__ import annotations

import uuid
from dataclasses import replace

from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.preferences import DeliveryForm
from mediabot.senders.base import SendTarget, StaleFileIdError
from mediabot.senders.cached import CachedPart
from mediabot.worker.request import CachedDelivery
from mediabot.worker.steps.resend_from_cache import resend_from_cache
from tests.worker.steps.worker_fakes import World, sent_part

TARGET = SendTarget.for_media(42, "A song", "https://example.com/a.m4a")


def _delivery() -> CachedDelivery:
    return CachedDelivery(
        id=uuid.uuid4(),
        parts=(CachedPart(MediaKind.AUDIO, "file-0", "unique-0", 1000),),
        size_bytes=1000,
        title="Cached title",
    )


async def test_nothing_cached_sends_nothing() -> None:
    world = World()
    assert await resend_from_cache(world.job, world.senders, TARGET) is False
    assert world.senders.calls == [] and world.state is RequestState.QUEUED


async def test_a_cached_delivery_is_sent_again_and_recorded() -> None:
    world = World()
    hit = _delivery()
    world.requests.delivered = hit
    world.senders.cached_script = ([sent_part(0)], None)
    assert await resend_from_cache(world.job, world.senders, TARGET) is True
    assert world.senders.cached_parts == [hit.parts]
    assert world.requests.history == [RequestState.UPLOADING, RequestState.DELIVERED]
    assert world.requests.values[world.request.id] == {"size_bytes": 1000, "title": "Cached title"}
    assert [part.file_id for part in world.requests.parts[world.request.id]] == ["file-0"]
    assert world.status.removed


async def test_stale_file_ids_are_forgotten_and_the_request_goes_on() -> None:
    world = World()
    hit = _delivery()
    world.requests.delivered = hit
    world.senders.cached_script = ([sent_part(0)], StaleFileIdError("wrong file identifier"))
    assert await resend_from_cache(world.job, world.senders, TARGET) is False
    # The earlier delivery's parts and the ones this request got from them: both gone.
    assert world.requests.dropped == [hit.id, world.request.id]
    assert world.request.id not in world.requests.parts
    assert world.requests.delivered is None
    assert world.state is RequestState.UPLOADING and not world.status.removed


async def test_a_cached_delivery_is_sent_again_in_the_requests_form() -> None:
    world = World(request=replace(World().request, form=DeliveryForm.DOCUMENT))
    world.requests.delivered = _delivery()
    world.senders.cached_script = ([sent_part(0)], None)
    assert await resend_from_cache(world.job, world.senders, TARGET) is True
    assert world.senders.forms == [DeliveryForm.DOCUMENT]


async def test_a_file_that_took_the_status_messages_place_leaves_it() -> None:
    """The status message edited into the file is the file now: closed, never deleted."""
    world = World()
    world.status.message_for_file = 100  # sent_part(0) lands in message 100
    world.requests.delivered = _delivery()
    world.senders.cached_script = ([sent_part(0)], None)
    assert await resend_from_cache(world.job, world.senders, TARGET) is True
    assert world.senders.into == [100]
    assert world.status.closed and not world.status.removed


async def test_a_file_sent_as_a_new_message_removes_the_status_message() -> None:
    """The edit refused, the file went as a new message: the status message goes."""
    world = World()
    world.status.message_for_file = 7
    world.requests.delivered = _delivery()
    world.senders.cached_script = ([sent_part(0)], None)
    assert await resend_from_cache(world.job, world.senders, TARGET) is True
    assert world.senders.into == [7]
    assert world.status.removed
