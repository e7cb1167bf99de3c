"""A link's offer chosen by its owner's default (/settings), as the lookup answers it.

The owner's `default_pick` on the offer is recorded as their choice when their limits allow
it, counted as a press on the offer's button counts them (`bot/usecases/limits.py`): the
requests in flight (`MAX_ACTIVE_REQUESTS`, with the user's row locked, so a press at the
same moment cannot take the same last place) and the choices within the hour
(`RATE_LIMIT_PER_HOUR`). When they do not, nothing is chosen and the keyboard is shown, so
a press gets the usual refusal in words. The request is marked `chosen_by_default`: once
delivered its status stays, with "⚙ Other choices". A playlist's offer is chosen the same
way for all its items (`default_playlist_pick`); its message is the playlist's status as
after a press, ending with its last word.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.base import utcnow
from mediabot.db.models import Playlist, RequestRow
from mediabot.db.repositories import PlaylistRepository, RequestRows, UserRepository
from mediabot.domain.defaults import default_pick, default_playlist_pick
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Pick
from mediabot.domain.preferences import DeliveryForm, Preferences

logger = logging.getLogger(__name__)

_HOUR = timedelta(hours=1)

Publish = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChosenByDefault:
    """The offer is a queued request now, `position` requests ahead of it; `cached`:
    Telegram has its file already (its job goes to the cached lane)."""

    request_id: uuid.UUID
    pick: Pick
    position: int
    cached: bool


@dataclass(frozen=True, slots=True)
class ItemsChosen:
    """A playlist's items queued, in turn (cached items first)."""

    items: list[uuid.UUID]


Chosen = ChosenByDefault | ItemsChosen


@dataclass(frozen=True, slots=True)
class DefaultChoices:
    """Chooses offers by their owners' defaults and publishes their jobs."""

    sessions: async_sessionmaker[AsyncSession]
    max_active: int
    """`MAX_ACTIVE_REQUESTS`: a user's requests in flight at most."""
    per_hour: int
    """`RATE_LIMIT_PER_HOUR`: a user's choices within an hour at most."""
    main_lane: Publish
    cached_lane: Publish

    async def choose(self, offer: RequestRow | Playlist) -> Chosen | None:
        """Record the owner's default choice on a media's offer or a playlist's and queue
        it; None when there is none, the offer lacks it, or the owner's limits refuse it."""
        if isinstance(offer, Playlist):
            return await self._choose_playlist(offer)
        return await self._choose_media(offer)

    async def _choose_media(self, offer: RequestRow) -> ChosenByDefault | None:
        """Record the owner's default choice on `offer` (still offered) and queue it; None
        when there is none, the offer lacks it, or the owner's limits refuse it."""
        owner = offer.requested_by_id
        if owner is None or offer.offer is None:
            return None
        async with self.sessions() as session:
            preferences = await UserRepository(session).preferences(owner)
            pick = default_pick(preferences, offer.offer)
            if pick is None or not await self._room_for(session, owner, offer.id):
                return None
            files = RequestRows(session)
            variant = pick.variant(_form(preferences, pick))
            if await files.choose(offer.id, variant) is None:
                return None
            await files.set_state(offer.id, RequestState.QUEUED, chosen_by_default=True)
            queued = await files.get(offer.id)
            position = await files.queue_position(queued) if queued is not None else 0
            hit = await files.find_delivered(offer.media_key, variant)
            await session.commit()
        logger.info("offer %s: chosen by default: %s %s", offer.id, pick.kind, pick.height or "")
        return ChosenByDefault(offer.id, pick, position, hit is not None)

    async def _choose_playlist(self, playlist: Playlist) -> ItemsChosen | None:
        """Record the owner's default choice on a playlist's offer and queue its items, as
        a press on its buttons does: the items' ids in turn (cached items first); None when
        there is no default or the owner's limits refuse it."""
        owner = playlist.requested_by_id
        if owner is None:
            return None
        async with self.sessions() as session:
            preferences = await UserRepository(session).preferences(owner)
            pick = default_playlist_pick(preferences)
            if pick is None or not await self._room_for(session, owner, playlist.id):
                return None
            kind, resolution = pick.kind, pick.resolution
            playlists = PlaylistRepository(session)
            if not await playlists.choose(playlist.id, kind, resolution):
                return None
            playlist.kind, playlist.resolution = kind, resolution
            variant = pick.variant(_form(preferences, pick))
            files = RequestRows(session)
            cached = {
                index
                for index, entry in enumerate(playlist.entries)
                if await files.find_delivered(entry.media_key, variant) is not None
            }
            items = [
                item.id for item in await playlists.queue_items(playlist, cached, variant.form)
            ]
            await session.commit()
        logger.info(
            "playlist %s: %d items chosen by default: %s %s",
            playlist.id,
            len(items),
            kind,
            resolution or "",
        )
        return ItemsChosen(items)

    async def _room_for(self, session: AsyncSession, owner: uuid.UUID, offer_id: uuid.UUID) -> bool:
        """Whether the owner's hourly choices and requests in flight leave room for one
        more; the owner's row stays locked until the session's transaction ends."""
        files = RequestRows(session)
        count, _oldest = await files.presses_since(owner, utcnow() - _HOUR)
        if count >= self.per_hour:
            logger.info("offer %s: hourly limit of its owner reached; asking", offer_id)
            return False
        await UserRepository(session).lock(owner)
        if await files.count_in_flight_of_user(owner) >= self.max_active:
            logger.info("offer %s: its owner's stack is full; asking", offer_id)
            return False
        return True

    async def publish(self, chosen: Chosen) -> None:
        """Publish the jobs: a request's on the cached lane when Telegram has its file, a
        playlist's items in turn on the main lane (as after a press)."""
        if isinstance(chosen, ChosenByDefault):
            lane = self.cached_lane if chosen.cached else self.main_lane
            await self._publish(chosen.request_id, lane)
            return
        for item in chosen.items:
            if not await self._publish(item, self.main_lane):
                return

    @staticmethod
    async def _publish(request_id: uuid.UUID, publish: Publish) -> bool:
        """A job that could not be published stays queued: the workers' recovery
        publishes it."""
        try:
            await publish(Job(request_id))
        except Exception as exc:
            logger.warning("request %s: publishing its job failed: %s", request_id, exc)
            return False
        return True


def _form(preferences: Preferences, pick: Pick) -> DeliveryForm:
    """The owner's form; photos always come as photos (`bot/usecases/choose.form_for`)."""
    return DeliveryForm.MEDIA if pick.kind is MediaKind.PHOTO else preferences.form
