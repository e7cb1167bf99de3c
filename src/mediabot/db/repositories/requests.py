"""A request's life: recorded as an offer, chosen, moved from state to state, ended."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import selectinload

from mediabot.db.base import utcnow
from mediabot.db.models import RequestRow, User
from mediabot.db.repositories._common import Repository, choice, queued_request
from mediabot.domain.enums import RequestState
from mediabot.domain.offer import Variant

_MEDIA_COLUMNS = (
    "provider_id",
    "request_url",
    "media_key",
    "kind",
    "resolution",
    "title",
    "duration_s",
    "form",
)
"""What a request for the same media again takes from the one delivered."""

_OFFER_COLUMNS = (
    "chat_id",
    "requested_by_id",
    "provider_id",
    "request_url",
    "media_key",
    "title",
    "duration_s",
    "offer",
    "link_message_id",
    "message_thread_id",
)
"""What an offer made again takes from the request it was first made for."""


class RequestRepository(Repository):
    """`files` rows as requests: what was asked for, by whom, and how far it got."""

    async def add(self, file: RequestRow) -> RequestRow:
        self._session.add(file)
        await self._session.flush()
        return file

    async def get(self, file_id: uuid.UUID, *, with_parts: bool = False) -> RequestRow | None:
        statement = (
            select(RequestRow)
            .where(RequestRow.id == file_id)
            .execution_options(populate_existing=True)
        )
        if with_parts:
            statement = statement.options(selectinload(RequestRow.parts))
        return await self._session.scalar(statement)

    async def get_with_chat(self, file_id: uuid.UUID) -> RequestRow | None:
        statement = (
            select(RequestRow)
            .where(RequestRow.id == file_id)
            .options(
                selectinload(RequestRow.chat),
                selectinload(RequestRow.parts),
                selectinload(RequestRow.requested_by),
                selectinload(RequestRow.playlist),
            )
            .execution_options(populate_existing=True)
        )
        return await self._session.scalar(statement)

    async def set_state(
        self,
        file_id: uuid.UUID,
        state: RequestState,
        *,
        owner: str | None = None,
        **values: Any,
    ) -> bool:
        """Move a request to `state`; with `owner`, only while that owner holds the lease.

        A final state releases the lease and stamps `finished_at`. The first move to
        `DOWNLOADING` of an attempt stamps `fetch_started_at` (a claim clears it); later
        moves of the same attempt keep it, so a fetch between its parts does not turn
        into a later twin than those waiting for it. Returns whether a row changed: a
        request already final is never moved again.
        """
        now = utcnow()
        changes: dict[str, Any] = {"state": state, "updated_at": now, **values}
        if state is RequestState.QUEUED:
            changes.setdefault("queued_at", now)
        if state is RequestState.DOWNLOADING:
            stamp = literal(now, RequestRow.fetch_started_at.type)
            changes.setdefault(
                "fetch_started_at", func.coalesce(RequestRow.fetch_started_at, stamp)
            )
        if state.is_final:
            changes.update(finished_at=now, lease_owner=None, lease_expires_at=None)
        conditions = [
            RequestRow.id == file_id,
            RequestRow.state.not_in(RequestState.final_states()),
        ]
        if owner is not None:
            conditions.append(RequestRow.lease_owner == owner)
        statement = (
            update(RequestRow)
            .where(*conditions)
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def choose(self, file_id: uuid.UUID, variant: Variant) -> RequestRow | None:
        """Turn an offer into an accepted request for `variant`, once: a second press
        changes nothing."""
        statement = choice(RequestRow, file_id, variant.kind, variant.resolution).values(
            form=variant.form
        )
        result = await self._session.execute(statement)
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return await self.get(file_id)

    async def offer_again(self, request: RequestRow, status_message_id: int) -> RequestRow:
        """An offer of what `request` offered, to the same chat and owner, shown on the
        message `status_message_id`: the offer already shown there if there is one (a
        press twice makes one offer), else a new one."""
        shown = await self._session.scalar(
            select(RequestRow).where(
                RequestRow.chat_id == request.chat_id,
                RequestRow.status_message_id == status_message_id,
                RequestRow.state == RequestState.OFFERED,
                RequestRow.id != request.id,
            )
        )
        if shown is not None:
            return shown
        columns = {column: getattr(request, column) for column in _OFFER_COLUMNS}
        return await self.add(
            RequestRow(state=RequestState.OFFERED, status_message_id=status_message_id, **columns)
        )

    async def end_pending_of_chat(
        self, chat_id: uuid.UUID, state: RequestState, reason: str
    ) -> list[uuid.UUID]:
        """End every pending request of a chat in `state`; returns their ids.

        For a chat Telegram no longer lets the bot write to: nothing is worked on for it.
        A worker holding one of them notices the final state and stops. Offers stay: a
        press on one is the chat writing again, which lifts the block.
        """
        assert state.is_final
        statement = select(RequestRow.id).where(
            RequestRow.chat_id == chat_id, RequestRow.state.in_(RequestState.pending_states())
        )
        ids = list((await self._session.scalars(statement)).all())
        for file_id in ids:
            await self.set_state(file_id, state, error_reason=reason)
        return ids

    async def cancel_pending_of_user(self, telegram_id: int, reason: str) -> list[uuid.UUID]:
        """Cancel every pending request of the user with this Telegram id (a ban).

        Queued ones are never started; a worker holding one notices and stops.
        """
        statement = (
            select(RequestRow.id)
            .join(User, RequestRow.requested_by_id == User.id)
            .where(
                User.telegram_id == telegram_id, RequestRow.state.in_(RequestState.pending_states())
            )
        )
        ids = list((await self._session.scalars(statement)).all())
        for file_id in ids:
            await self.set_state(file_id, RequestState.CANCELLED, error_reason=reason)
        return ids

    async def again(
        self, delivered: RequestRow, chat_id: uuid.UUID, user_id: uuid.UUID
    ) -> RequestRow:
        """A new queued request for the same media, kind and resolution as `delivered`:
        the worker resends it from the cache (no download, no upload)."""
        media = {column: getattr(delivered, column) for column in _MEDIA_COLUMNS}
        return await self.add(
            queued_request(utcnow(), chat_id=chat_id, requested_by_id=user_id, **media)
        )
