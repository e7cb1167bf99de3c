"""A press on an offer's button: record the choice, queue the request, publish its job.

A file Telegram already has goes to the workers' cached lane, where it never waits behind
downloads; the worker hands it to the main lane if it cannot be sent from there. The
publisher waits out a broker outage; a job it could not publish in time stays queued, and
the workers' recovery publishes it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from enum import Enum

from mediabot.bot.usecases.limits import (
    LimitRefusal,
    Limits,
    refused_by_limits,
    taken_meanwhile,
)
from mediabot.bot.usecases.ports import Ports, Reply
from mediabot.db.models import RequestRow
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Pick
from mediabot.domain.preferences import DeliveryForm

logger = logging.getLogger(__name__)


class Refused(Enum):
    """Why a press changed nothing."""

    NOT_AVAILABLE = "not available"
    """The offer ended, or the choice was never on it (a forged press)."""
    ALREADY_CHOSEN = "already chosen"
    """Another press took the offer first."""


@dataclass(frozen=True, slots=True)
class Queued:
    """The request is queued, `position` requests ahead of it; `cached`: Telegram has the
    file already, so it arrives in a moment."""

    request_id: uuid.UUID
    position: int
    cached: bool


Chosen = Queued | Refused | LimitRefusal


def refused_state(state: RequestState) -> Refused:
    """Why an offer in `state` (not offered any more) takes no choice."""
    return Refused.NOT_AVAILABLE if state.is_final else Refused.ALREADY_CHOSEN


async def choose(
    ports: Ports,
    offer: RequestRow,
    pick: Pick,
    user_id: uuid.UUID,
    limits: Limits,
    reply: Reply[Chosen],
) -> None:
    """Turn a press on `offer` into a queued request: `reply` is told how it went, then
    (when queued) the job is published."""
    chosen = await _record(ports, offer, pick, user_id, limits)
    await reply(chosen)
    if isinstance(chosen, Queued) and await ports.publisher.publish(
        Job(offer.id), cached=chosen.cached
    ):
        logger.info("request %s: queued %s %s", offer.id, pick.kind, pick.resolution or "")


async def _record(
    ports: Ports, offer: RequestRow, pick: Pick, user_id: uuid.UUID, limits: Limits
) -> Chosen:
    if offer.state is not RequestState.OFFERED:
        return refused_state(offer.state)
    if offer.offer is None or not offer.offer.offers(pick.kind, pick.resolution):
        logger.warning(
            "refused choice %s %s not in the offer of %s", pick.kind, pick.height, offer.id
        )
        return Refused.NOT_AVAILABLE
    refusal = await refused_by_limits(ports, user_id, limits)
    if refusal is not None:
        return refusal
    owner = offer.requested_by_id
    if owner is not None and (full := await taken_meanwhile(ports, owner, limits.max_active)):
        return full  # another press of this user's got in first
    files = ports.files
    variant = pick.variant(await form_for(ports, user_id, pick.kind))
    if await files.choose(offer.id, variant) is None:
        await ports.transaction.commit()  # nothing changed; ends the transaction
        return Refused.ALREADY_CHOSEN
    await files.set_state(offer.id, RequestState.QUEUED)
    queued = await files.get(offer.id)
    position = await files.queue_position(queued) if queued is not None else 0
    hit = await files.find_delivered(offer.media_key, variant)
    await ports.transaction.commit()
    return Queued(offer.id, position, hit is not None)


async def form_for(ports: Ports, user_id: uuid.UUID | None, kind: MediaKind) -> DeliveryForm:
    """The form a choice of `kind` by this user comes in: their setting's; photos always
    come as photos (a document of a picture keeps no original stream from re-encoding)."""
    if user_id is None or kind is MediaKind.PHOTO:
        return DeliveryForm.MEDIA
    return (await ports.users.preferences(user_id)).form


class CancelOutcome(Enum):
    CANCELLED = "cancelled"
    NOT_AVAILABLE = "not available"


async def cancel(ports: Ports, offer: RequestRow) -> CancelOutcome:
    """The offer's ✖ (or its request's, while it waits or runs)."""
    if offer.state.is_final or not await ports.files.set_state(offer.id, RequestState.CANCELLED):
        await ports.transaction.commit()
        return CancelOutcome.NOT_AVAILABLE
    await ports.transaction.commit()
    logger.info("request %s: cancelled by the user", offer.id)
    return CancelOutcome.CANCELLED


async def offer_again(ports: Ports, request: RequestRow, shown_on: int) -> RequestRow | Refused:
    """ "⚙ Other choices" under `request`, which its owner's default chose: its offer made
    again on the message `shown_on` (an offer of its own, so the first request keeps its
    file and its place in the history). Refused while the request still owes its file
    (another choice would race it on the same message), and for a request with no offer."""
    if request.offer is None:
        return Refused.NOT_AVAILABLE
    if not request.state.is_final:
        return Refused.ALREADY_CHOSEN
    offer = await ports.files.offer_again(request, shown_on)
    await ports.transaction.commit()
    logger.info("request %s: offered again as %s", request.id, offer.id)
    return offer
