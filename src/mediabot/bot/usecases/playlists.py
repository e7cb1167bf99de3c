"""A press on a playlist's buttons: one choice queues all its items; its ✖ stops the rest.

Each item becomes a request of its own, in turn (cached items first: they arrive at once),
so the worker, the cache, the lease and recovery treat it as any other request; the user's
stack and hourly presses count the playlist as one.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from mediabot.bot.usecases.choose import Refused, form_for, refused_state
from mediabot.bot.usecases.limits import (
    LimitRefusal,
    Limits,
    refused_by_limits,
    taken_meanwhile,
)
from mediabot.bot.usecases.ports import Ports, Reply
from mediabot.db.models import Playlist
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Pick
from mediabot.domain.playlist import PlaylistOptions, PlaylistTally, playlist_offers

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ItemsQueued:
    """`count` items are queued."""

    count: int


PlaylistChosen = ItemsQueued | Refused | LimitRefusal


async def choose(
    ports: Ports,
    playlist: Playlist,
    pick: Pick,
    user_id: uuid.UUID,
    limits: Limits,
    reply: Reply[PlaylistChosen],
) -> None:
    """Queue the playlist's items in the choice pressed: `reply` is told how it went, then
    their jobs are published, in turn."""
    if playlist.state is not RequestState.OFFERED:
        await reply(refused_state(playlist.state))
        return
    if pick.kind not in (MediaKind.VIDEO, MediaKind.AUDIO) or not playlist_offers(
        pick.kind, pick.resolution
    ):
        logger.warning("refused choice %s %s for playlist %s", pick.kind, pick.height, playlist.id)
        await reply(Refused.NOT_AVAILABLE)
        return
    refusal = await refused_by_limits(ports, user_id, limits)
    if refusal is not None:
        await reply(refusal)
        return
    items = await _queue(ports, playlist, pick, limits.max_active)
    if not isinstance(items, list):
        await reply(items)
        return
    await reply(ItemsQueued(len(items)))
    for item in items:
        if not await ports.publisher.publish(Job(item)):
            logger.warning("playlist %s: the rest of its items wait for recovery", playlist.id)
            return


async def _queue(
    ports: Ports, playlist: Playlist, pick: Pick, max_active: int
) -> list[uuid.UUID] | Refused | LimitRefusal:
    """Record the choice and one queued request per item: their ids, in turn."""
    owner = playlist.requested_by_id
    if owner is not None and (full := await taken_meanwhile(ports, owner, max_active)):
        return full  # another press of this user's got in first
    kind, resolution = pick.kind, pick.resolution
    if not await ports.playlists.choose(playlist.id, kind, resolution):
        await ports.transaction.commit()
        return Refused.ALREADY_CHOSEN
    playlist.kind, playlist.resolution = kind, resolution
    variant = pick.variant(await form_for(ports, owner, kind))
    cached = {
        index
        for index, entry in enumerate(playlist.entries)
        if await ports.files.find_delivered(entry.media_key, variant) is not None
    }
    items = [item.id for item in await ports.playlists.queue_items(playlist, cached, variant.form)]
    await ports.transaction.commit()
    logger.info(
        "playlist %s: %d items queued as %s %s (%d cached)",
        playlist.id,
        len(items),
        kind,
        resolution or "",
        len(cached),
    )
    return items


@dataclass(frozen=True, slots=True)
class PlaylistCancelled:
    """What is left of the playlist is cancelled; its last word (`tally`) waits
    `settles_in` seconds, until every status edit allowed before has landed."""

    tally: PlaylistTally
    settles_in: float


async def cancel(ports: Ports, playlist: Playlist) -> PlaylistCancelled | None:
    """The playlist's ✖: None when it had ended (its worker says how it went)."""
    if playlist.state.is_final:
        return None
    playlists = ports.playlists
    cancelled = await playlists.end_items(playlist.id, RequestState.CANCELLED, "cancelled")
    tally = await playlists.tally(playlist.id)
    settles_in = await playlists.status_settles_in(playlist.id)
    await ports.transaction.commit()
    if not cancelled:
        return None
    logger.info("playlist %s: cancelled by the user (%d cancelled)", playlist.id, tally.cancelled)
    return PlaylistCancelled(tally, settles_in)


def offer_of(playlist: Playlist) -> PlaylistOptions | Refused:
    """The playlist's offer as it was looked up, to show in a message of its own (a video
    link's row opens it); refused once it was chosen or ended."""
    if playlist.state is not RequestState.OFFERED:
        return refused_state(playlist.state)
    return PlaylistOptions(
        url=playlist.request_url,
        title=playlist.title or "",
        entries=playlist.entries,
        total_count=playlist.total_count,
        skipped=playlist.skipped_count,
    )


async def shown_on(ports: Ports, playlist_id: uuid.UUID, message_id: int) -> None:
    """The playlist's offer is shown on `message_id`: its buttons count there from now on."""
    row = await ports.playlists.get(playlist_id)
    if row is not None:
        row.status_message_id = message_id
    await ports.transaction.commit()
