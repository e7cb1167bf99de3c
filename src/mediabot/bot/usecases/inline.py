"""The inline results a user chose, and the parts of an inline delivery pulled into the
private chat: checked, recorded and published, as a button press is.

Each use case returns what the handler says (None: nothing to say); it never talks to
Telegram itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeGuard

from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.limits import limit_refusal, place_still_free
from mediabot.config import Settings
from mediabot.db.models import RequestRow
from mediabot.db.repositories import RequestRows
from mediabot.domain.enums import RequestState
from mediabot.domain.inline import InlineChoice
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Variant

logger = logging.getLogger(__name__)

Publish = Callable[[Job], Awaitable[bool]]
"""Hands a job to a lane; False when the broker stayed away past the update's life (the
request stays queued: the workers' recovery publishes it)."""


class InlineRecords(Protocol):
    """The requests an inline choice reads and records (committed by each call)."""

    async def offer(self, offer_id: uuid.UUID) -> RequestRow | None: ...
    async def delivered(self, request_id: uuid.UUID) -> RequestRow | None:
        """The request with its parts."""

    async def refusal(self, user_row_id: uuid.UUID) -> str | None:
        """Why one more request of the user is refused (a full stack, the hourly limit)."""

    async def queue_choice(
        self, choice: InlineChoice, place: str, user_row_id: uuid.UUID, max_active: int
    ) -> bool | None:
        """Record the choice as queued into the inline message `place`: True; False when
        the user's stack is full; None when it was chosen already (the same update twice)."""

    async def again(
        self, delivered: RequestRow, chat_row_id: uuid.UUID, user_row_id: uuid.UUID
    ) -> uuid.UUID:
        """A new request of this user's for the same file; its id."""


@dataclass(frozen=True, slots=True)
class InlineChoices:
    """Chosen inline results and inline parts pulled into the private chat."""

    records: InlineRecords
    publish: Publish
    """To the main lane: a chosen result is downloaded."""
    publish_cached: Publish
    """To the cached lane: the parts are resent from Telegram's file ids."""
    max_active_requests: int

    async def chosen(self, user_row_id: uuid.UUID, choice: InlineChoice, place: str) -> str | None:
        """Queue the chosen result into its inline message `place`; the refusal to put in
        that message, or None (queued, or the same update again)."""
        offer = await self.records.offer(choice.offer_id)
        if offer is not None and offer.inline_message_id == place:
            return None  # the same update again (a webhook's retry): already queued
        if not _may_choose(offer, choice, user_row_id):
            logger.warning("refused chosen inline result %r", choice.result_id)
            return texts.not_available()
        refusal = await self.records.refusal(user_row_id)
        if refusal is not None:
            return refusal
        queued = await self.records.queue_choice(
            choice, place, user_row_id, self.max_active_requests
        )
        if queued is False:
            return texts.stack_full_alert(self.max_active_requests)
        if queued and await self.publish(Job(choice.offer_id)):
            logger.info("request %s: queued", choice.offer_id)
        return None

    async def parts(
        self, request_id: uuid.UUID | None, chat_row_id: uuid.UUID, user_row_id: uuid.UUID
    ) -> str:
        """Send the parts of the user's own inline delivery `request_id` to this private
        chat; what to answer.

        Only the person who chose the inline result may pull its parts: request ids are
        seen by others (in button data in groups), so any other request named here, or
        someone else's inline request, is refused like a request that does not exist.
        """
        delivered = await self.records.delivered(request_id) if request_id else None
        if not _parts_of_own_inline_delivery(delivered, user_row_id):
            logger.warning("refused inline parts of %s", request_id)
            return texts.not_available()
        refusal = await self.records.refusal(user_row_id)
        if refusal is not None:
            return refusal
        again = await self.records.again(delivered, chat_row_id, user_row_id)
        logger.info(
            "request %s: parts of inline request %s sent to the private chat", again, delivered.id
        )
        if await self.publish_cached(Job(again)):
            logger.info("request %s: queued", again)
        return texts.inline_sending_parts()


def _may_choose(offer: RequestRow | None, choice: InlineChoice, user_row_id: uuid.UUID) -> bool:
    """Whether the chosen result names an open offer of this user's, and a choice in it."""
    return (
        offer is not None
        and offer.requested_by_id == user_row_id
        and offer.state is RequestState.OFFERED
        and offer.offer is not None
        and offer.offer.offers(choice.kind, choice.height)
    )


def _parts_of_own_inline_delivery(
    delivered: RequestRow | None, user_row_id: uuid.UUID
) -> TypeGuard[RequestRow]:
    """Whether `delivered` is an inline request of this user's, delivered in parts."""
    return (
        delivered is not None
        and delivered.inline_message_id is not None
        and delivered.requested_by_id == user_row_id
        and delivered.state is RequestState.DELIVERED
        and bool(delivered.parts)
    )


@dataclass(frozen=True, slots=True)
class SessionInlineRecords:
    """`InlineRecords` in the update's session."""

    session: AsyncSession
    settings: Settings

    async def offer(self, offer_id: uuid.UUID) -> RequestRow | None:
        offer = await RequestRows(self.session).get(offer_id)
        await self.session.commit()
        return offer

    async def delivered(self, request_id: uuid.UUID) -> RequestRow | None:
        delivered = await RequestRows(self.session).get(request_id, with_parts=True)
        await self.session.commit()
        return delivered

    async def refusal(self, user_row_id: uuid.UUID) -> str | None:
        return await limit_refusal(self.session, user_row_id, self.settings)

    async def queue_choice(
        self, choice: InlineChoice, place: str, user_row_id: uuid.UUID, max_active: int
    ) -> bool | None:
        files = RequestRows(self.session)
        try:
            if not await place_still_free(self.session, user_row_id, max_active):
                return False
            if await files.choose(choice.offer_id, Variant(choice.kind, choice.height)) is None:
                return None
            await files.set_state(choice.offer_id, RequestState.QUEUED, inline_message_id=place)
            return True
        finally:
            await self.session.commit()

    async def again(
        self, delivered: RequestRow, chat_row_id: uuid.UUID, user_row_id: uuid.UUID
    ) -> uuid.UUID:
        again = await RequestRows(self.session).again(delivered, chat_row_id, user_row_id)
        await self.session.commit()
        return again.id
