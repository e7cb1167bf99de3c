"""`RequestsStore` over the database: each call one short transaction, no session held
across the network, every call held through database outages (`adapters.outages`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Unpack

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot import metrics
from mediabot.db.engine import uninterrupted
from mediabot.db.models import FilePart
from mediabot.db.repositories import ChatRepository, PlaylistRepository, RequestRows
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Handback
from mediabot.domain.media import Progress
from mediabot.domain.offer import Variant
from mediabot.domain.playlist import PlaylistTally
from mediabot.senders.base import SentPart
from mediabot.worker.adapters.outages import DATABASE_HOLD_S, through_outages
from mediabot.worker.adapters.rows import cached_of, count_ending, request_of
from mediabot.worker.request import CachedDelivery, Claim, Request


@dataclass(frozen=True, slots=True)
class DatabaseRequests:
    """`RequestsStore` over the database, on behalf of the worker `owner`."""

    sessions: async_sessionmaker[AsyncSession]
    owner: str
    lease: timedelta
    max_running_per_user: int | None
    hold_s: float = DATABASE_HOLD_S
    """How long each call waits out a database outage."""

    @through_outages
    async def claim(self, request_id: uuid.UUID, *, fair: bool = True) -> Claim:
        """Claim the fairest request (fair turns), `request_id` when it is as fair as any;
        not `fair`: `request_id` or nothing."""
        async with self.sessions() as session:
            files = RequestRows(session)
            share = self.max_running_per_user
            if fair:
                taken = await files.claim_fairest(
                    request_id, self.owner, self.lease, max_per_user=share
                )
            else:
                claimed = await files.claim(request_id, self.owner, self.lease, max_per_user=share)
                taken = request_id if claimed else None
            # A job whose own request was taken by a fairer turn stands for another request
            # still waiting (its user at their share): it comes back rather than vanish, as
            # that request may have no message of its own any more.
            waiting = taken is None and (
                await files.defer_if_waiting(request_id) or (fair and await files.any_claimable())
            )
            file = await files.get_with_chat(taken) if taken is not None else None
            await session.commit()
        request = request_of(file) if file is not None else None
        return Claim(taken is not None, waiting, request, taken)

    @through_outages
    async def release(self, request_id: uuid.UUID, **how: Unpack[Handback]) -> None:
        async with self.sessions() as session:
            await RequestRows(session).release(request_id, self.owner, **how)
            await session.commit()

    @through_outages
    async def renew(self, request_id: uuid.UUID, progress: Progress | None = None) -> bool:
        # The lease watcher that calls this is cancelled at the end of every job, often
        # mid-renewal: the renewal finishes first (see `uninterrupted`).
        return await uninterrupted(self._renew(request_id, progress))

    async def _renew(self, request_id: uuid.UUID, progress: Progress | None) -> bool:
        async with self.sessions() as session:
            files = RequestRows(session)
            held = await files.renew_lease(request_id, self.owner, self.lease, progress)
            file = await files.get(request_id)
            await session.commit()
        return held and file is not None and not file.state.is_final

    @through_outages
    async def state_of(self, request_id: uuid.UUID) -> RequestState | None:
        async with self.sessions() as session:
            file = await RequestRows(session).get(request_id)
        return file.state if file is not None else None

    @through_outages
    async def set_state(
        self, /, request_id: uuid.UUID, state: RequestState, **values: object
    ) -> bool:
        async with self.sessions() as session:
            files = RequestRows(session)
            changed = await files.set_state(request_id, state, owner=self.owner, **values)
            ended = await files.get(request_id) if changed and state.is_final else None
            await session.commit()
        if ended is not None:
            count_ending(ended)
        return changed

    @through_outages
    async def give_up(self, request_id: uuid.UUID, reason: str) -> Request | None:
        async with self.sessions() as session:
            files = RequestRows(session)
            changed = await files.set_state(request_id, RequestState.FAILED, error_reason=reason)
            file = await files.get_with_chat(request_id)
            await session.commit()
        if changed and file is not None:
            count_ending(file)
        return request_of(file) if changed and file is not None else None

    @through_outages
    async def end_chat(self, chat_id: uuid.UUID, reason: str) -> int:
        async with self.sessions() as session:
            await ChatRepository(session).mark_blocked(chat_id)
            ended = await RequestRows(session).end_pending_of_chat(
                chat_id, RequestState.FAILED, reason
            )
            await session.commit()
        return len(ended)

    @through_outages
    async def find_delivered(self, request: Request) -> CachedDelivery | None:
        async with self.sessions() as session:
            hit = await RequestRows(session).find_delivered(
                request.media_key, Variant(request.kind, request.resolution, request.form)
            )
        metrics.CACHE_LOOKUPS.labels("miss" if hit is None else "hit").inc()
        return cached_of(hit) if hit is not None else None

    @through_outages
    async def drop_parts(self, *request_ids: uuid.UUID) -> None:
        async with self.sessions() as session:
            for request_id in request_ids:
                await RequestRows(session).drop_parts(request_id)
            await session.commit()

    @through_outages
    async def being_fetched(self, request_id: uuid.UUID, *, ordered: bool = True) -> bool:
        async with self.sessions() as session:
            files = RequestRows(session)
            me = await files.get(request_id)
            if me is None or (ordered and me.fetch_started_at is None):
                return False  # ordered: one that never started a fetch waits for no twin
            return await files.being_fetched(me, ordered=ordered)

    @through_outages
    async def last_part(self, request_id: uuid.UUID) -> tuple[int, float | None] | None:
        async with self.sessions() as session:
            parts = await RequestRows(session).parts_of(request_id)
        return (parts[-1].index, parts[-1].end_s) if parts else None

    @through_outages
    async def add_part(self, request_id: uuid.UUID, part: SentPart) -> None:
        async with self.sessions() as session:
            await RequestRows(session).add_part(
                request_id,
                FilePart(
                    index=part.index,
                    kind=part.kind,
                    telegram_file_id=part.file_id,
                    telegram_file_unique_id=part.file_unique_id,
                    message_id=part.message_id or None,  # 0: put in an inline message
                    size_bytes=part.size_bytes,
                    start_s=part.start_s,
                    end_s=part.end_s,
                ),
            )
            await session.commit()

    @through_outages
    async def set_resolution(self, request_id: uuid.UUID, height: int) -> bool:
        async with self.sessions() as session:
            files = RequestRows(session)
            file = await files.get(request_id)
            if file is None or file.lease_owner != self.owner or file.state.is_final:
                return False
            file.resolution = height
            await session.commit()
        return True

    @through_outages
    async def playlist_tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        async with self.sessions() as session:
            tally = await PlaylistRepository(session).tally(playlist_id)
            await session.commit()
        return tally

    @through_outages
    async def allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        # Asked from a status edit's task, which `StatusMessage.close` may cancel.
        return await uninterrupted(self._allow_status_edit(playlist_id, window_s))

    async def _allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        async with self.sessions() as session:
            allowed = await PlaylistRepository(session).allow_status_edit(playlist_id, window_s)
            await session.commit()
        return allowed

    @through_outages
    async def end_playlist(self, playlist_id: uuid.UUID) -> float | None:
        async with self.sessions() as session:
            playlists = PlaylistRepository(session)
            ended = await playlists.end(playlist_id, RequestState.DELIVERED)
            settles_in = await playlists.status_settles_in(playlist_id) if ended else None
            await session.commit()
        return settles_in
