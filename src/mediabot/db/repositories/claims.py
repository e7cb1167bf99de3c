"""Fair turns: which pending request a worker takes, and whether it may."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import aliased

from mediabot.db.base import utcnow
from mediabot.db.models import RequestRow
from mediabot.db.repositories._common import Repository
from mediabot.db.repositories.users import UserRepository
from mediabot.domain.enums import RequestState

# The other rows of `files` the claim's correlated subqueries look at. Made once: an alias
# made per statement costs the ORM its column adaptation again each time, which would be
# most of a claim's CPU.
_SERVED_AHEAD = aliased(RequestRow, name="served_ahead")
_EARLIER_ITEM = aliased(RequestRow, name="earlier_item")
_RUNNING = aliased(RequestRow, name="running")


def _others_of_user(other: Any, *conditions: Any) -> Any:
    """How many requests `other` (an alias of `files`) holds of the outer row's user,
    besides the outer row itself, that meet `conditions`."""
    return (
        select(func.count())
        .select_from(other)
        .where(
            other.requested_by_id == RequestRow.requested_by_id,
            other.id != RequestRow.id,
            *conditions,
        )
        .scalar_subquery()
    )


class ClaimRepository(Repository):
    """Claims on pending requests: one worker a request, fair turns between users."""

    def _claimable(self, now: datetime) -> Any:
        return and_(
            RequestRow.state.in_(RequestState.pending_states()),
            or_(RequestRow.lease_expires_at.is_(None), RequestRow.lease_expires_at < now),
        )

    async def claim(
        self,
        file_id: uuid.UUID,
        owner: str,
        lease: timedelta,
        *,
        max_per_user: int | None = None,
    ) -> bool:
        """Take the lease on a pending request, unless a live worker holds it.

        Atomic: of several workers racing for one request, exactly one gets `True`. With
        `max_per_user`, the claim is also refused while the user who asked already has that
        many requests under live leases (`defer_if_waiting` then tells a wait from a skip);
        on PostgreSQL the user's row is locked first, so two workers claiming two requests
        of one user at once cannot both count the other's lease as absent.
        """
        now = utcnow()
        conditions = [RequestRow.id == file_id, self._claimable(now), ~self._earlier_item_pending()]
        if max_per_user is not None:
            user_id = await self._session.scalar(
                select(RequestRow.requested_by_id).where(RequestRow.id == file_id)
            )
            if user_id is not None:
                await UserRepository(self._session).lock(user_id)
                conditions.append(self._running_of_user(now) < max_per_user)
        statement = (
            update(RequestRow)
            .where(*conditions)
            .values(
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=RequestRow.attempts + 1,
                updated_at=now,
                fetch_started_at=None,  # this attempt's fetch has not started
            )
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_fairest(
        self,
        preferred: uuid.UUID,
        owner: str,
        lease: timedelta,
        *,
        max_per_user: int | None = None,
    ) -> uuid.UUID | None:
        """Take the lease on the fairest claimable request; its id, None when there is none.

        Fair turns: any job a worker takes works on the request whose user has been served
        least since it was queued, whichever request the job named (`preferred` wins ties),
        so one user's burst never makes the next user wait behind all of it. The order is
        `_served_ahead` (the user's requests queued earlier that are still in flight or
        ended after this one was queued), then the time it was queued. Requests of users
        with `max_per_user` requests under live leases are left out. On PostgreSQL the row
        is chosen `FOR UPDATE SKIP LOCKED` (a racing worker takes the next one); the lease is
        then written by `claim`, which locks the user's row and checks the share again.
        """
        now = utcnow()
        conditions = [self._claimable(now), ~self._earlier_item_pending()]
        if max_per_user is not None:
            conditions.append(self._running_of_user(now) < max_per_user)
        postgres = self._session.get_bind().dialect.name == "postgresql"
        skipped: list[uuid.UUID] = []
        for _ in range(3):  # a row lost to a racing worker: try the next one
            statement = (
                select(RequestRow.id)
                .where(*conditions, RequestRow.id.not_in(skipped))
                .order_by(
                    self._served_ahead(),
                    case((RequestRow.id == preferred, 0), else_=1),
                    func.coalesce(RequestRow.queued_at, RequestRow.created_at),
                    RequestRow.id,
                )
                .limit(1)
            )
            if postgres:
                statement = statement.with_for_update(of=RequestRow, skip_locked=True)
            row = (await self._session.execute(statement)).first()
            if row is None:
                return None
            file_id = row[0]
            if await self.claim(file_id, owner, lease, max_per_user=max_per_user):
                return file_id
            skipped.append(file_id)
        return None

    @staticmethod
    def _served_ahead() -> Any:
        """How many requests of the same user were queued before this one and are still in
        flight, or ended after this one was queued: the user's turns taken while it waited."""
        other = _SERVED_AHEAD
        queued = func.coalesce(RequestRow.queued_at, RequestRow.created_at)
        return _others_of_user(
            other,
            other.state != RequestState.OFFERED,
            func.coalesce(other.queued_at, other.created_at) < queued,
            or_(other.state.in_(RequestState.pending_states()), other.finished_at > queued),
        )

    @staticmethod
    def _earlier_item_pending() -> Any:
        """Whether an earlier item of the same playlist is still pending: a playlist's items
        are worked on one after the other, in their order (none for a link of its own)."""
        other = _EARLIER_ITEM
        return (
            select(other.id)
            .where(
                other.playlist_id == RequestRow.playlist_id,
                other.playlist_position < RequestRow.playlist_position,
                other.state.in_(RequestState.pending_states()),
            )
            .exists()
        )

    @staticmethod
    def _running_of_user(now: datetime) -> Any:
        """How many other requests of the same user are under a live lease right now."""
        other = _RUNNING
        return _others_of_user(
            other, other.state.in_(RequestState.pending_states()), other.lease_expires_at > now
        )

    async def defer_if_waiting(self, file_id: uuid.UUID) -> bool:
        """Whether a request a claim refused is only waiting for its user's turn.

        `True` when it is still pending with no live lease: the job should come back after a
        short delay. Its `updated_at` is touched, so recovery sees it moving and does not
        publish a second copy. `False` when it ended or a live worker holds it (skip).
        """
        now = utcnow()
        statement = (
            update(RequestRow)
            .where(RequestRow.id == file_id, self._claimable(now))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def any_claimable(self) -> bool:
        """Whether some pending request has no live lease (waiting for its user's turn,
        say): a job that found nothing it may claim then stands for that one and comes back."""
        statement = select(RequestRow.id).where(self._claimable(utcnow())).limit(1)
        return (await self._session.execute(statement)).first() is not None
