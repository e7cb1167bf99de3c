"""A user's stack, presses and history, as /queue, /history and the limits read them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mediabot.db.models import RequestRow
from mediabot.db.repositories._common import Repository, has_parts
from mediabot.domain.enums import RequestState


def _request_or_playlist() -> Any:
    """What counts as one choice of a user: a request, or all the items of a playlist."""
    return func.coalesce(RequestRow.playlist_id, RequestRow.id)


class StackRepository(Repository):
    """Queries over one user's requests: in flight, chosen lately, delivered."""

    async def queue_position(self, file: RequestRow) -> int:
        """How many queued requests are ahead of this one (0: it is next)."""
        if file.queued_at is None:
            return 0
        statement = select(func.count()).where(
            RequestRow.state == RequestState.QUEUED, RequestRow.queued_at < file.queued_at
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def presses_since(
        self, user_id: uuid.UUID, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many requests this user chose since `since` (a playlist's items are one
        choice), and when the oldest of them was."""
        statement = select(
            func.count(func.distinct(_request_or_playlist())), func.min(RequestRow.chosen_at)
        ).where(RequestRow.requested_by_id == user_id, RequestRow.chosen_at >= since)
        count, oldest = (await self._session.execute(statement)).one()
        return int(count), oldest

    async def in_flight_of_user(self, user_id: uuid.UUID) -> Sequence[RequestRow]:
        """A user's requests chosen and not yet finished, newest first, with their parts."""
        statement = (
            select(RequestRow)
            .where(
                RequestRow.requested_by_id == user_id,
                RequestRow.state.in_(RequestState.pending_states()),
            )
            .options(selectinload(RequestRow.parts))
            .order_by(RequestRow.created_at.desc(), RequestRow.id)
            .execution_options(populate_existing=True)
        )
        return (await self._session.scalars(statement)).all()

    async def count_in_flight_of_user(self, user_id: uuid.UUID) -> int:
        """A user's requests chosen and not finished; a playlist's items count as one."""
        statement = select(func.count(func.distinct(_request_or_playlist()))).where(
            RequestRow.requested_by_id == user_id,
            RequestRow.state.in_(RequestState.pending_states()),
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def delivered_of_user(
        self, user_id: uuid.UUID, *, offset: int = 0, limit: int = 10
    ) -> tuple[Sequence[RequestRow], int]:
        """A page of a user's delivered files that can still be resent (their Telegram
        file ids kept), latest first, and how many there are in all."""
        conditions = (
            RequestRow.requested_by_id == user_id,
            RequestRow.state == RequestState.DELIVERED,
            has_parts(),
        )
        total = (await self._session.execute(select(func.count()).where(*conditions))).scalar_one()
        statement = (
            select(RequestRow)
            .where(*conditions)
            .order_by(RequestRow.finished_at.desc(), RequestRow.id)
            .offset(offset)
            .limit(limit)
        )
        return (await self._session.scalars(statement)).all(), int(total)
