"""A link's offer chosen by its owner's default (/settings), as the lookup answers it.

The owner's `default_pick` on the offer is recorded as their choice when their limits allow
it, counted as a press on the offer's button counts them (`bot/usecases/limits.py`): the
requests in flight (`MAX_ACTIVE_REQUESTS`, with the user's row locked, so a press at the
same moment cannot take the same last place) and the choices within the hour
(`RATE_LIMIT_PER_HOUR`). When they do not, nothing is chosen and the keyboard is shown, so
a press gets the usual refusal in words. The request is marked `chosen_by_default`: once
delivered its status stays, with "⚙ Other choices".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.base import utcnow
from mediabot.db.models import File
from mediabot.db.repositories import FileRepository, UserRepository
from mediabot.domain.defaults import default_pick
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Pick
from mediabot.domain.preferences import DeliveryForm

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
class DefaultChoices:
    """Chooses offers by their owners' defaults and publishes their jobs."""

    sessions: async_sessionmaker[AsyncSession]
    max_active: int
    """`MAX_ACTIVE_REQUESTS`: a user's requests in flight at most."""
    per_hour: int
    """`RATE_LIMIT_PER_HOUR`: a user's choices within an hour at most."""
    main_lane: Publish
    cached_lane: Publish

    async def choose(self, offer: File) -> ChosenByDefault | None:
        """Record the owner's default choice on `offer` (still offered) and queue it; None
        when there is none, the offer lacks it, or the owner's limits refuse it."""
        owner = offer.requested_by_id
        if owner is None or offer.offer is None:
            return None
        async with self.sessions() as session:
            users = UserRepository(session)
            preferences = await users.preferences(owner)
            pick = default_pick(preferences, offer.offer)
            if pick is None:
                return None
            files = FileRepository(session)
            count, _oldest = await files.presses_since(owner, utcnow() - _HOUR)
            if count >= self.per_hour:
                logger.info("offer %s: hourly limit of its owner reached; asking", offer.id)
                return None
            await users.lock(owner)
            if await files.count_in_flight_of_user(owner) >= self.max_active:
                logger.info("offer %s: its owner's stack is full; asking", offer.id)
                return None
            # Photos always come as photos (`bot/usecases/choose.form_for`).
            form = DeliveryForm.MEDIA if pick.kind is MediaKind.PHOTO else preferences.form
            if await files.choose(offer.id, pick.kind, pick.resolution, form) is None:
                return None
            await files.set_state(offer.id, RequestState.QUEUED, chosen_by_default=True)
            queued = await files.get(offer.id)
            position = await files.queue_position(queued) if queued is not None else 0
            hit = await files.find_delivered(offer.media_key, pick.kind, pick.resolution, form)
            await session.commit()
        logger.info("offer %s: chosen by default: %s %s", offer.id, pick.kind, pick.height or "")
        return ChosenByDefault(offer.id, pick, position, hit is not None)

    async def publish(self, chosen: ChosenByDefault) -> None:
        """Publish the request's job, on the cached lane when Telegram has its file. A job
        that could not be published stays queued: the workers' recovery publishes it."""
        publish = self.cached_lane if chosen.cached else self.main_lane
        try:
            await publish(Job(chosen.request_id))
        except Exception as exc:
            logger.warning("request %s: publishing its job failed: %s", chosen.request_id, exc)
