"""Step: a playlist video item's own height, the best it has up to the one chosen."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.downloaders.errors import NotFoundError, PrivateOrRemovedError
from mediabot.senders.cached import CachedPart
from mediabot.worker.request import CachedDelivery, PlaylistPlace, Request
from mediabot.worker.steps.context import LeftOurHandsError
from mediabot.worker.steps.playlist_item import settle_height
from tests.worker.steps.worker_fakes import FakeRequests, World, make_request, sent_part


def _item(resolution: int | None = 720, kind: MediaKind = MediaKind.VIDEO) -> Request:
    return make_request(
        kind=kind,
        resolution=resolution,
        playlist=PlaylistPlace(uuid.uuid4(), position=2, total=5),
    )


@pytest.mark.parametrize(
    ("available", "cap", "settled"),
    [
        ((240, 360, 480, 1080), 720, 480),  # the best up to the cap
        ((480, 720), 360, 480),  # none that low: the lowest
        ((144, 1080), 1080, None),  # exactly the cap: nothing to change
    ],
)
async def test_an_item_comes_at_its_best_height_up_to_the_cap(
    available: tuple[int, ...], cap: int, settled: int | None
) -> None:
    world = World(request=_item(cap))
    world.downloaders.available = available
    changed = await settle_height(world.job, world.downloaders)
    assert changed is (settled is not None)
    assert world.job.request.resolution == (settled or cap)
    assert world.requests.values.get(world.request.id, {}).get("resolution") == settled


async def test_requests_that_are_no_playlist_video_items_are_left_alone() -> None:
    for request in (
        make_request(kind=MediaKind.VIDEO, resolution=720),
        _item(None, MediaKind.AUDIO),
    ):
        world = World(request=request)
        assert not await settle_height(world.job, world.downloaders)
        assert not world.downloaders.looked_up


async def test_an_item_without_video_or_gone_is_an_error_of_the_item() -> None:
    world = World(request=_item())
    world.downloaders.available = ()
    with pytest.raises(NotFoundError):
        await settle_height(world.job, world.downloaders)
    world.downloaders.available = PrivateOrRemovedError()
    with pytest.raises(PrivateOrRemovedError):
        await settle_height(world.job, world.downloaders)


async def test_a_lost_lease_stops_the_item() -> None:
    world = World(request=_item())
    world.downloaders.available = (360,)
    world.requests.held = False
    with pytest.raises(LeftOurHandsError):
        await settle_height(world.job, world.downloaders)


@dataclass
class _CacheByHeight(FakeRequests):
    """A cache that holds the media at 480p only."""

    def __post_init__(self) -> None:
        self.hits: list[int | None] = []

    async def find_delivered(self, request: Request) -> CachedDelivery | None:
        self.hits.append(request.resolution)
        if request.resolution != 480:
            return None
        return CachedDelivery(uuid.uuid4(), (CachedPart(MediaKind.VIDEO, "id-480"),), 10, "t")


async def test_an_item_settled_on_a_cached_height_arrives_from_the_cache(tmp_path: Path) -> None:
    world = World(request=_item(720), requests=_CacheByHeight())
    world.downloaders.available = (360, 480)
    world.senders.cached_script = ([sent_part(0)], None)
    await world.pipeline(tmp_path).handle(Job(world.request.id))
    requests = cast(_CacheByHeight, world.requests)
    assert requests.hits == [720, 480]  # the cap first (at once), then the settled height
    assert world.state is RequestState.DELIVERED
    assert world.downloaders.downloader.downloads == 0
