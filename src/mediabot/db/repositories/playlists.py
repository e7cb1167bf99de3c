"""Playlist offers, and the items of a chosen one."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import selectinload

from mediabot.db.base import UtcDateTime, utcnow
from mediabot.db.models import Playlist, RequestRow
from mediabot.db.repositories._common import Repository, choice, queued_request
from mediabot.db.repositories.providers import ProviderRepository
from mediabot.db.repositories.requests import RequestRepository
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.playlist import STATUS_EDIT_WINDOW_S, PlaylistTally
from mediabot.domain.preferences import DeliveryForm

_EDIT_LANDING_S = 1.0
"""How long an edit sent at the very end of its window may still take to reach Telegram."""


class PlaylistRepository(Repository):
    """Playlist offers, and the items of a chosen one (`files` rows, one request each)."""

    async def add(self, playlist: Playlist) -> Playlist:
        self._session.add(playlist)
        await self._session.flush()
        return playlist

    async def get(self, playlist_id: uuid.UUID) -> Playlist | None:
        return await self._session.get(Playlist, playlist_id, populate_existing=True)

    async def get_with_chat(self, playlist_id: uuid.UUID) -> Playlist | None:
        statement = (
            select(Playlist)
            .where(Playlist.id == playlist_id)
            .options(selectinload(Playlist.chat))
            .execution_options(populate_existing=True)
        )
        return await self._session.scalar(statement)

    async def choose(self, playlist_id: uuid.UUID, kind: MediaKind, resolution: int | None) -> bool:
        """Record the choice for all the items, once: a second press changes nothing."""
        result = await self._session.execute(choice(Playlist, playlist_id, kind, resolution))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def queue_items(
        self, playlist: Playlist, cached: set[int], form: DeliveryForm = DeliveryForm.MEDIA
    ) -> list[RequestRow]:
        """One queued request per entry, each in `form`, in turn: the `cached` entries (by
        index) first, then the others in the playlist's order."""
        assert playlist.kind is not None
        order = sorted(range(len(playlist.entries)), key=lambda index: (index not in cached, index))
        entries = [playlist.entries[index] for index in order]
        providers = ProviderRepository(self._session)
        provider_ids = {
            provider: await providers.id_of(provider)
            for provider in {entry.provider for entry in entries}
        }
        # What every item takes from the playlist: its chat, its user, its choice and its
        # status message.
        shared = {
            "chat_id": playlist.chat_id,
            "requested_by_id": playlist.requested_by_id,
            "kind": playlist.kind,
            "resolution": playlist.resolution,
            "status_message_id": playlist.status_message_id,
            "link_message_id": playlist.link_message_id,
            "message_thread_id": playlist.message_thread_id,
            "playlist_id": playlist.id,
            "form": form,
        }
        now = utcnow()
        items = [
            queued_request(
                now,
                provider_id=provider_ids[entry.provider],
                request_url=entry.url,
                media_key=entry.media_key,
                title=entry.title,
                duration_s=entry.duration_s,
                playlist_position=position,
                **shared,
            )
            for position, entry in enumerate(entries)
        ]
        self._session.add_all(items)
        await self._session.flush()
        return items

    async def pending_item_ids(self, playlist_id: uuid.UUID) -> list[uuid.UUID]:
        """The items still to come, in turn (what a restart or a cancel is about)."""
        statement = (
            select(RequestRow.id)
            .where(
                RequestRow.playlist_id == playlist_id,
                RequestRow.state.in_(RequestState.pending_states()),
            )
            .order_by(RequestRow.playlist_position)
        )
        return list((await self._session.scalars(statement)).all())

    async def end_items(self, playlist_id: uuid.UUID, state: RequestState, reason: str) -> bool:
        """End what is left of a playlist, and the playlist, in `state` (its ✖: cancelled;
        queued items never start, a running one is stopped by its worker). True when this
        ended the playlist: its last word is then the caller's to say (see `end`)."""
        assert state.is_final
        requests = RequestRepository(self._session)
        for file_id in await self.pending_item_ids(playlist_id):
            await requests.set_state(file_id, state, error_reason=reason)
        return await self.end(playlist_id, state)

    async def tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        """The items by how they ended (`end` marks the playlist once they all have)."""
        statement = (
            select(RequestRow.state, func.count())
            .where(RequestRow.playlist_id == playlist_id)
            .group_by(RequestRow.state)
        )
        counts = {state: int(count) for state, count in (await self._session.execute(statement))}
        return PlaylistTally(
            total=sum(counts.values()),
            delivered=counts.get(RequestState.DELIVERED, 0),
            skipped=counts.get(RequestState.FAILED, 0),
            cancelled=counts.get(RequestState.CANCELLED, 0),
        )

    async def end(self, playlist_id: uuid.UUID, state: RequestState) -> bool:
        """Mark the playlist ended in `state`; False when it had ended already.

        Whoever ends it says its last word on the status message, and no other edit is
        allowed from then on (`allow_status_edit`); the last word waits for the edits
        allowed before (`status_settles_in`).
        """
        now = utcnow()
        statement = (
            update(Playlist)
            .where(Playlist.id == playlist_id, Playlist.state.not_in(RequestState.final_states()))
            .values(state=state, finished_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool((await self._session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        """Whether the playlist's status message may be edited now: not once the playlist
        has ended (its last word is said or on its way). An edit allowed must land within
        `window_s` or be dropped; the window is recorded for the last word to wait out.

        One statement on the playlist's row, which `end` also writes: an edit is either
        allowed before the end (and waited for) or refused after it.
        """
        until = literal(utcnow() + timedelta(seconds=window_s), UtcDateTime())
        statement = (
            update(Playlist)
            .where(Playlist.id == playlist_id, Playlist.state.not_in(RequestState.final_states()))
            .values(
                status_edits_until=case(
                    (Playlist.status_edits_until > until, Playlist.status_edits_until),
                    else_=until,
                )
            )
            .execution_options(synchronize_session=False)
        )
        return bool((await self._session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def status_settles_in(self, playlist_id: uuid.UUID) -> float:
        """Seconds until every edit of the playlist's status allowed so far has landed or
        been dropped (0: none is on its way). Read after `end`, it cannot grow any more."""
        until = await self._session.scalar(
            select(Playlist.status_edits_until).where(Playlist.id == playlist_id)
        )
        if until is None:
            return 0.0
        left = (until - utcnow()).total_seconds() + _EDIT_LANDING_S
        return min(max(left, 0.0), STATUS_EDIT_WINDOW_S + _EDIT_LANDING_S)
