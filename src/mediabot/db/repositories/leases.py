"""Leases held on requests: kept alive, handed back, and found again when a worker died."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Unpack

from sqlalchemy import and_, case, or_, select, update

from mediabot.db.base import utcnow
from mediabot.db.models import RequestRow
from mediabot.db.repositories._common import Repository, same_media
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Handback
from mediabot.domain.media import Progress


class LeaseRepository(Repository):
    """The lease a worker holds on a request while it works on it."""

    async def being_fetched(self, file: RequestRow, *, ordered: bool = True) -> bool:
        """Whether a live worker fetched this same media first and is still at it.

        Twins are ordered by when their fetch started, then by id: a later one always sees
        an earlier one, and no two wait for each other. Not `ordered`: any twin a live
        worker is fetching, for a request that will not fetch itself while it waits.
        """
        conditions = [
            *same_media(file.media_key, file.kind, file.resolution, file.form),
            RequestRow.id != file.id,
            RequestRow.state.in_((RequestState.DOWNLOADING, RequestState.UPLOADING)),
            RequestRow.lease_expires_at > utcnow(),
        ]
        if ordered:
            assert file.fetch_started_at is not None
            started = file.fetch_started_at
            conditions.append(
                or_(
                    RequestRow.fetch_started_at < started,
                    and_(RequestRow.fetch_started_at == started, RequestRow.id < file.id),
                )
            )
        statement = select(select(RequestRow.id).where(*conditions).exists())
        return bool((await self._session.execute(statement)).scalar_one())

    async def renew_lease(
        self,
        file_id: uuid.UUID,
        owner: str,
        lease: timedelta,
        progress: Progress | None = None,
    ) -> bool:
        """Extend a lease this owner holds; `False` means it was lost to someone else.

        `progress` is recorded in the same statement (what /queue shows).
        """
        now = utcnow()
        values: dict[str, object] = {"lease_expires_at": now + lease}
        if progress is not None:
            values.update(progress_percent=progress.percent, parts_total=progress.parts_total)
        statement = (
            update(RequestRow)
            .where(RequestRow.id == file_id, RequestRow.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, file_id: uuid.UUID, owner: str, **how: Unpack[Handback]) -> None:
        """Give a lease back, as `how` says (`Handback`)."""
        expire = how.get("expire", False)
        now = utcnow()
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": now if expire else None,
            "updated_at": now,
        }
        if expire or how.get("refund", False):
            values["attempts"] = case((RequestRow.attempts > 0, RequestRow.attempts - 1), else_=0)
        if how.get("requeue", False):
            values["state"] = RequestState.QUEUED
        statement = (
            update(RequestRow)
            .where(RequestRow.id == file_id, RequestRow.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)

    async def requeued(self, file_ids: Sequence[uuid.UUID]) -> None:
        """Mark requests as just published again: leases of dead workers are cleared, and
        the clock of "not moved since" restarts, so they are not published again at once."""
        if not file_ids:
            return
        statement = (
            update(RequestRow)
            .where(RequestRow.id.in_(file_ids), RequestRow.state.in_(RequestState.pending_states()))
            .values(lease_owner=None, lease_expires_at=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)

    async def leased_ids(self, file_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these requests a worker holds a live lease on right now."""
        if not file_ids:
            return set()
        statement = select(RequestRow.id).where(
            RequestRow.id.in_(file_ids), RequestRow.lease_expires_at > utcnow()
        )
        return set((await self._session.scalars(statement)).all())

    async def stale_pending(self, older_than: datetime, limit: int = 500) -> Sequence[RequestRow]:
        """Pending requests nobody works on.

        Those whose lease ran out (their worker died) are stale at once; those with no
        lease or no owner (never claimed, handed back, or left half-written by hand) once
        they have not moved since `older_than` (younger ones are still on their way
        through the queue).
        """
        now = utcnow()
        statement = (
            select(RequestRow)
            .where(
                RequestRow.state.in_(RequestState.pending_states()),
                or_(
                    RequestRow.lease_expires_at < now,
                    and_(
                        or_(
                            RequestRow.lease_expires_at.is_(None), RequestRow.lease_owner.is_(None)
                        ),
                        RequestRow.updated_at < older_than,
                    ),
                ),
            )
            .order_by(RequestRow.created_at)
            .limit(limit)
        )
        return (await self._session.scalars(statement)).all()
