"""Repositories: each takes a session and never commits; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from mediabot.db.base import UtcDateTime, utcnow
from mediabot.db.models import Chat, File, FilePart, Playlist, ProviderRow, User
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.media import Progress
from mediabot.domain.playlist import STATUS_EDIT_WINDOW_S, PlaylistTally

# The other rows of `files` the claim's correlated subqueries look at. Made once: an alias
# made per statement costs the ORM its column adaptation again each time (a claim spent
# most of its CPU there).
_SERVED_AHEAD = aliased(File, name="served_ahead")
_EARLIER_ITEM = aliased(File, name="earlier_item")
_RUNNING = aliased(File, name="running")
_EDIT_LANDING_S = 1.0
"""How long an edit sent at the very end of its window may still take to reach Telegram."""


def _insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT for the session's dialect (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _request_or_playlist() -> Any:
    """What counts as one choice of a user: a request, or all the items of a playlist."""
    return func.coalesce(File.playlist_id, File.id)


def _choice(
    model: type[File] | type[Playlist],
    row_id: uuid.UUID,
    kind: MediaKind,
    resolution: int | None,
) -> Any:
    """The UPDATE that records a choice on an offer (a request's or a playlist's), only
    while it is still offered: of two presses, one changes the row."""
    now = utcnow()
    return (
        update(model)
        .where(model.id == row_id, model.state == RequestState.OFFERED)
        .values(
            kind=kind,
            resolution=resolution,
            state=RequestState.ACCEPTED,
            chosen_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class TelegramUser:
    telegram_id: int
    first_name: str = ""
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class TelegramChat:
    telegram_id: int
    type: str
    title: str | None = None


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, user: TelegramUser) -> uuid.UUID:
        """Insert or refresh a user by Telegram id; returns its UUID."""
        now = utcnow()
        values = {
            "first_name": user.first_name,
            "username": user.username,
            "last_name": user.last_name,
            "language_code": user.language_code,
            "updated_at": now,
        }
        statement = (
            _insert(self._session, User)
            .values(id=uuid.uuid4(), telegram_id=user.telegram_id, created_at=now, **values)
            .on_conflict_do_update(index_elements=[User.telegram_id], set_=values)
            .returning(User.id)
        )
        return (await self._session.execute(statement)).scalar_one()  # type: ignore[no-any-return]

    async def lock(self, user_id: uuid.UUID) -> None:
        """Hold the user's row until the transaction ends (PostgreSQL; SQLite writers are
        serialised anyway): a count of their requests then stays true until the commit."""
        # SQLite's dialect leaves FOR UPDATE out.
        await self._session.execute(select(User.id).where(User.id == user_id).with_for_update())

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return await self._session.scalar(select(User).where(User.telegram_id == telegram_id))

    async def language(self, user_id: uuid.UUID) -> str | None:
        """The language the user chose with /language; None: never chose one."""
        return await self._session.scalar(select(User.language).where(User.id == user_id))

    async def set_language(self, user_id: uuid.UUID, language: str | None) -> None:
        await self._session.execute(
            update(User).where(User.id == user_id).values(language=language, updated_at=utcnow())
        )

    async def is_banned(self, user_id: uuid.UUID) -> bool:
        statement = select(User.banned_at.is_not(None)).where(User.id == user_id)
        return bool(await self._session.scalar(statement))

    async def set_banned(self, telegram_id: int, banned: bool) -> bool:
        """Ban or unban a user by Telegram id; `False` when no such user ever wrote."""
        now = utcnow()
        statement = (
            update(User)
            .where(User.telegram_id == telegram_id)
            .values(banned_at=now if banned else None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, chat: TelegramChat, user_id: uuid.UUID) -> uuid.UUID:
        """Insert or refresh a chat by Telegram id; its owning user is the first one seen.

        The chat wrote to the bot, so it can be written to again: a block is lifted.
        """
        now = utcnow()
        values = {"type": chat.type, "title": chat.title, "updated_at": now, "blocked_at": None}
        statement = (
            _insert(self._session, Chat)
            .values(
                id=uuid.uuid4(),
                telegram_id=chat.telegram_id,
                user_id=user_id,
                created_at=now,
                **values,
            )
            .on_conflict_do_update(index_elements=[Chat.telegram_id], set_=values)
            .returning(Chat.id)
        )
        return (await self._session.execute(statement)).scalar_one()  # type: ignore[no-any-return]

    async def by_telegram_id(self, telegram_id: int) -> Chat | None:
        return await self._session.scalar(select(Chat).where(Chat.telegram_id == telegram_id))

    async def mark_blocked(self, chat_id: uuid.UUID) -> None:
        """Telegram refused to let the bot write to this chat: stop trying until it writes."""
        now = utcnow()
        statement = (
            update(Chat)
            .where(Chat.id == chat_id, Chat.blocked_at.is_(None))
            .values(blocked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)


class ProviderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def id_of(self, provider: Provider) -> uuid.UUID:
        """The row id of a provider, its row created on first use (whoever inserts first)."""
        statement = select(ProviderRow.id).where(ProviderRow.name == provider)
        provider_id = (await self._session.execute(statement)).scalar_one_or_none()
        if provider_id is not None:
            return provider_id
        await self._session.execute(
            _insert(self._session, ProviderRow)
            .values(id=uuid.uuid4(), name=str(provider), display_name=provider.display_name)
            .on_conflict_do_nothing(index_elements=[ProviderRow.name])
        )
        created: uuid.UUID = (await self._session.execute(statement)).scalar_one()
        return created


class FileRepository:
    """Requests for media (`files` rows) and their delivered parts."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, file: File) -> File:
        self._session.add(file)
        await self._session.flush()
        return file

    async def get(self, file_id: uuid.UUID, *, with_parts: bool = False) -> File | None:
        statement = select(File).where(File.id == file_id).execution_options(populate_existing=True)
        if with_parts:
            statement = statement.options(selectinload(File.parts))
        return await self._session.scalar(statement)

    async def get_with_chat(self, file_id: uuid.UUID) -> File | None:
        statement = (
            select(File)
            .where(File.id == file_id)
            .options(
                selectinload(File.chat),
                selectinload(File.parts),
                selectinload(File.requested_by),
                selectinload(File.playlist),
            )
            .execution_options(populate_existing=True)
        )
        return await self._session.scalar(statement)

    async def find_delivered(
        self, media_key: str, kind: MediaKind, resolution: int | None
    ) -> File | None:
        """The latest delivery of this media in this kind and resolution, with its parts."""
        statement = (
            select(File)
            .where(
                File.media_key == media_key,
                File.kind == kind,
                File.resolution.is_(None) if resolution is None else File.resolution == resolution,
                File.state == RequestState.DELIVERED,
                # Deliveries whose file ids proved stale lose their parts and drop out here.
                select(FilePart.id).where(FilePart.file_id == File.id).exists(),
            )
            .options(selectinload(File.parts))
            .order_by(File.finished_at.desc())
            .limit(1)
        )
        return await self._session.scalar(statement)

    async def delivered_whole(self, media_key: str, limit: int = 200) -> list[File]:
        """The latest delivery of this media in each kind and resolution that came as one
        file (with its part): what an inline query can be answered with at once."""
        statement = (
            select(File)
            .where(
                File.media_key == media_key,
                File.state == RequestState.DELIVERED,
                select(FilePart.id).where(FilePart.file_id == File.id).exists(),
            )
            .options(selectinload(File.parts))
            .order_by(File.finished_at.desc())
            .limit(limit)
        )
        latest: dict[tuple[MediaKind | None, int | None], File] = {}
        for file in await self._session.scalars(statement):
            latest.setdefault((file.kind, file.resolution), file)
        return [file for file in latest.values() if len(file.parts) == 1]

    async def delivered_key_of_url(self, url: str) -> str | None:
        """The media key a delivery of exactly this link was recorded under: the key of a
        link whose URL does not tell it (a page), known without looking it up again."""
        statement = (
            select(File.media_key)
            .where(File.request_url == url, File.state == RequestState.DELIVERED)
            .order_by(File.finished_at.desc())
            .limit(1)
        )
        return await self._session.scalar(statement)

    async def being_fetched(self, file: File, *, ordered: bool = True) -> bool:
        """Whether a live worker fetched this same media first and is still at it.

        Twins are ordered by when their fetch started, then by id: a later one always sees
        an earlier one, and no two wait for each other. Not `ordered`: any twin a live
        worker is fetching, for a request that will not fetch itself while it waits.
        """
        conditions = [
            File.media_key == file.media_key,
            File.kind == file.kind,
            File.resolution.is_(None)
            if file.resolution is None
            else File.resolution == file.resolution,
            File.id != file.id,
            File.state.in_((RequestState.DOWNLOADING, RequestState.UPLOADING)),
            File.lease_expires_at > utcnow(),
        ]
        if ordered:
            assert file.fetch_started_at is not None
            started = file.fetch_started_at
            conditions.append(
                or_(
                    File.fetch_started_at < started,
                    and_(File.fetch_started_at == started, File.id < file.id),
                )
            )
        statement = select(select(File.id).where(*conditions).exists())
        return bool((await self._session.execute(statement)).scalar_one())

    async def queue_position(self, file: File) -> int:
        """How many queued requests are ahead of this one (0: it is next)."""
        if file.queued_at is None:
            return 0
        statement = select(func.count()).where(
            File.state == RequestState.QUEUED, File.queued_at < file.queued_at
        )
        return int((await self._session.execute(statement)).scalar_one())

    def _claimable(self, now: datetime) -> Any:
        return and_(
            File.state.in_(RequestState.pending_states()),
            or_(File.lease_expires_at.is_(None), File.lease_expires_at < now),
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
        conditions = [File.id == file_id, self._claimable(now), ~self._earlier_item_pending()]
        if max_per_user is not None:
            user_id = await self._session.scalar(
                select(File.requested_by_id).where(File.id == file_id)
            )
            if user_id is not None:
                await self._session.execute(
                    select(User.id).where(User.id == user_id).with_for_update()
                )
                conditions.append(self._running_of_user(now) < max_per_user)
        statement = (
            update(File)
            .where(*conditions)
            .values(
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=File.attempts + 1,
                updated_at=now,
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
                select(File.id)
                .where(*conditions, File.id.not_in(skipped))
                .order_by(
                    self._served_ahead(),
                    case((File.id == preferred, 0), else_=1),
                    func.coalesce(File.queued_at, File.created_at),
                    File.id,
                )
                .limit(1)
            )
            if postgres:
                statement = statement.with_for_update(of=File, skip_locked=True)
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
        queued = func.coalesce(File.queued_at, File.created_at)
        return (
            select(func.count())
            .select_from(other)
            .where(
                other.requested_by_id == File.requested_by_id,
                other.id != File.id,
                other.state != RequestState.OFFERED,
                func.coalesce(other.queued_at, other.created_at) < queued,
                or_(
                    other.state.in_(RequestState.pending_states()),
                    other.finished_at > queued,
                ),
            )
            .scalar_subquery()
        )

    @staticmethod
    def _earlier_item_pending() -> Any:
        """Whether an earlier item of the same playlist is still pending: a playlist's items
        are worked on one after the other, in their order (none for a link of its own)."""
        other = _EARLIER_ITEM
        return (
            select(other.id)
            .where(
                other.playlist_id == File.playlist_id,
                other.playlist_position < File.playlist_position,
                other.state.in_(RequestState.pending_states()),
            )
            .exists()
        )

    @staticmethod
    def _running_of_user(now: datetime) -> Any:
        """How many other requests of the same user are under a live lease right now."""
        other = _RUNNING
        return (
            select(func.count())
            .select_from(other)
            .where(
                other.requested_by_id == File.requested_by_id,
                other.id != File.id,
                other.state.in_(RequestState.pending_states()),
                other.lease_expires_at > now,
            )
            .scalar_subquery()
        )

    async def defer_if_waiting(self, file_id: uuid.UUID) -> bool:
        """Whether a request a claim refused is only waiting for its user's turn.

        `True` when it is still pending with no live lease: the job should come back after a
        short delay. Its `updated_at` is touched, so recovery sees it moving and does not
        publish a second copy. `False` when it ended or a live worker holds it (skip).
        """
        now = utcnow()
        statement = (
            update(File)
            .where(File.id == file_id, self._claimable(now))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def any_claimable(self) -> bool:
        """Whether some pending request has no live lease (waiting for its user's turn,
        say): a job that found nothing it may claim then stands for that one and comes back."""
        statement = select(File.id).where(self._claimable(utcnow())).limit(1)
        return (await self._session.execute(statement)).first() is not None

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
            update(File)
            .where(File.id == file_id, File.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(
        self,
        file_id: uuid.UUID,
        owner: str,
        *,
        expire: bool = False,
        refund: bool = False,
        requeue: bool = False,
    ) -> None:
        """Give a lease back.

        By default the queue brings the request back (a retry after its delay). With
        `expire`, the lease is left expired instead, so recovery publishes the request again
        at once: for work handed back on shutdown, whose redelivered copy may already have
        been skipped by a worker that saw the lease still held. Work handed back was not the
        request's fault, so its attempt is given back too; `refund` gives it back without
        expiring (a job that waits for its turn, e.g. for free disk space). `requeue` puts a
        request that moved on (downloading, uploading) back in the queued state: it no longer
        counts as a twin being fetched.
        """
        now = utcnow()
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": now if expire else None,
            "updated_at": now,
        }
        if expire or refund:
            values["attempts"] = case((File.attempts > 0, File.attempts - 1), else_=0)
        if requeue:
            values["state"] = RequestState.QUEUED
        statement = (
            update(File)
            .where(File.id == file_id, File.lease_owner == owner)
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
            update(File)
            .where(File.id.in_(file_ids), File.state.in_(RequestState.pending_states()))
            .values(lease_owner=None, lease_expires_at=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)

    async def leased_ids(self, file_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these requests a worker holds a live lease on right now."""
        if not file_ids:
            return set()
        statement = select(File.id).where(File.id.in_(file_ids), File.lease_expires_at > utcnow())
        return set((await self._session.scalars(statement)).all())

    async def set_state(
        self,
        file_id: uuid.UUID,
        state: RequestState,
        *,
        owner: str | None = None,
        **values: Any,
    ) -> bool:
        """Move a request to `state`; with `owner`, only while that owner holds the lease.

        A final state releases the lease and stamps `finished_at`. Returns whether a row
        changed: a request already final is never moved again.
        """
        now = utcnow()
        changes: dict[str, Any] = {"state": state, "updated_at": now, **values}
        if state is RequestState.QUEUED:
            changes.setdefault("queued_at", now)
        if state is RequestState.DOWNLOADING:
            changes.setdefault("fetch_started_at", now)
        if state.is_final:
            changes.update(finished_at=now, lease_owner=None, lease_expires_at=None)
        conditions = [File.id == file_id, File.state.not_in(RequestState.final_states())]
        if owner is not None:
            conditions.append(File.lease_owner == owner)
        statement = (
            update(File)
            .where(*conditions)
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def choose(
        self, file_id: uuid.UUID, kind: MediaKind, resolution: int | None
    ) -> File | None:
        """Turn an offer into an accepted request, once: a second press changes nothing."""
        result = await self._session.execute(_choice(File, file_id, kind, resolution))
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return await self.get(file_id)

    async def presses_since(
        self, user_id: uuid.UUID, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many requests this user chose since `since` (a playlist's items are one
        choice), and when the oldest of them was."""
        statement = select(
            func.count(func.distinct(_request_or_playlist())), func.min(File.chosen_at)
        ).where(File.requested_by_id == user_id, File.chosen_at >= since)
        count, oldest = (await self._session.execute(statement)).one()
        return int(count), oldest

    async def stale_pending(self, older_than: datetime, limit: int = 500) -> Sequence[File]:
        """Pending requests nobody works on.

        Those whose lease ran out (their worker died) are stale at once; those with no
        lease or no owner (never claimed, handed back, or left half-written by hand) once
        they have not moved since `older_than` (younger ones are still on their way
        through the queue).
        """
        now = utcnow()
        statement = (
            select(File)
            .where(
                File.state.in_(RequestState.pending_states()),
                or_(
                    File.lease_expires_at < now,
                    and_(
                        or_(File.lease_expires_at.is_(None), File.lease_owner.is_(None)),
                        File.updated_at < older_than,
                    ),
                ),
            )
            .order_by(File.created_at)
            .limit(limit)
        )
        return (await self._session.scalars(statement)).all()

    async def end_pending_of_chat(
        self, chat_id: uuid.UUID, state: RequestState, reason: str
    ) -> list[uuid.UUID]:
        """End every pending request of a chat in `state`; returns their ids.

        For a chat Telegram no longer lets the bot write to: nothing is worked on for it.
        A worker holding one of them notices the final state and stops. Offers stay: a
        press on one is the chat writing again, which lifts the block.
        """
        assert state.is_final
        statement = select(File.id).where(
            File.chat_id == chat_id, File.state.in_(RequestState.pending_states())
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
            select(File.id)
            .join(User, File.requested_by_id == User.id)
            .where(User.telegram_id == telegram_id, File.state.in_(RequestState.pending_states()))
        )
        ids = list((await self._session.scalars(statement)).all())
        for file_id in ids:
            await self.set_state(file_id, RequestState.CANCELLED, error_reason=reason)
        return ids

    async def in_flight_of_user(self, user_id: uuid.UUID) -> Sequence[File]:
        """A user's requests chosen and not yet finished, newest first, with their parts."""
        statement = (
            select(File)
            .where(
                File.requested_by_id == user_id,
                File.state.in_(RequestState.pending_states()),
            )
            .options(selectinload(File.parts))
            .order_by(File.created_at.desc(), File.id)
            .execution_options(populate_existing=True)
        )
        return (await self._session.scalars(statement)).all()

    async def count_in_flight_of_user(self, user_id: uuid.UUID) -> int:
        """A user's requests chosen and not finished; a playlist's items count as one."""
        statement = select(func.count(func.distinct(_request_or_playlist()))).where(
            File.requested_by_id == user_id, File.state.in_(RequestState.pending_states())
        )
        return int((await self._session.execute(statement)).scalar_one())

    async def delivered_of_user(
        self, user_id: uuid.UUID, *, offset: int = 0, limit: int = 10
    ) -> tuple[Sequence[File], int]:
        """A page of a user's delivered files that can still be resent (their Telegram
        file ids kept), latest first, and how many there are in all."""
        conditions = (
            File.requested_by_id == user_id,
            File.state == RequestState.DELIVERED,
            select(FilePart.id).where(FilePart.file_id == File.id).exists(),
        )
        total = (await self._session.execute(select(func.count()).where(*conditions))).scalar_one()
        statement = (
            select(File)
            .where(*conditions)
            .order_by(File.finished_at.desc(), File.id)
            .offset(offset)
            .limit(limit)
        )
        return (await self._session.scalars(statement)).all(), int(total)

    async def again(self, delivered: File, chat_id: uuid.UUID, user_id: uuid.UUID) -> File:
        """A new queued request for the same media, kind and resolution as `delivered`:
        the worker resends it from the cache (no download, no upload)."""
        now = utcnow()
        return await self.add(
            File(
                chat_id=chat_id,
                requested_by_id=user_id,
                provider_id=delivered.provider_id,
                request_url=delivered.request_url,
                media_key=delivered.media_key,
                kind=delivered.kind,
                resolution=delivered.resolution,
                title=delivered.title,
                duration_s=delivered.duration_s,
                state=RequestState.QUEUED,
                chosen_at=now,
                queued_at=now,
            )
        )

    async def add_part(self, file_id: uuid.UUID, part: FilePart) -> None:
        part.file_id = file_id
        self._session.add(part)
        await self._session.flush()

    async def parts_of(self, file_id: uuid.UUID) -> Sequence[FilePart]:
        statement = select(FilePart).where(FilePart.file_id == file_id).order_by(FilePart.index)
        return (await self._session.scalars(statement)).all()

    async def drop_parts(self, file_id: uuid.UUID) -> None:
        """Forget the parts of a delivery whose Telegram file ids stopped working."""
        parts = await self.parts_of(file_id)
        for part in parts:
            await self._session.delete(part)
        await self._session.flush()


class PlaylistRepository:
    """Playlist offers, and the items of a chosen one (`files` rows, one request each)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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
        result = await self._session.execute(_choice(Playlist, playlist_id, kind, resolution))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def queue_items(self, playlist: Playlist, cached: set[int]) -> list[File]:
        """One queued request per entry, in turn: the `cached` entries (by index) first,
        then the others in the playlist's order."""
        assert playlist.kind is not None
        order = sorted(range(len(playlist.entries)), key=lambda index: (index not in cached, index))
        entries = [playlist.entries[index] for index in order]
        providers = ProviderRepository(self._session)
        provider_ids = {
            provider: await providers.id_of(provider)
            for provider in {entry.provider for entry in entries}
        }
        now = utcnow()
        items = [
            File(
                chat_id=playlist.chat_id,
                requested_by_id=playlist.requested_by_id,
                provider_id=provider_ids[entry.provider],
                request_url=entry.url,
                media_key=entry.media_key,
                kind=playlist.kind,
                resolution=playlist.resolution,
                state=RequestState.QUEUED,
                title=entry.title,
                duration_s=entry.duration_s,
                status_message_id=playlist.status_message_id,
                link_message_id=playlist.link_message_id,
                message_thread_id=playlist.message_thread_id,
                chosen_at=now,
                queued_at=now,
                playlist_id=playlist.id,
                playlist_position=position,
            )
            for position, entry in enumerate(entries)
        ]
        self._session.add_all(items)
        await self._session.flush()
        return items

    async def pending_item_ids(self, playlist_id: uuid.UUID) -> list[uuid.UUID]:
        """The items still to come, in turn (what a restart or a cancel is about)."""
        statement = (
            select(File.id)
            .where(File.playlist_id == playlist_id, File.state.in_(RequestState.pending_states()))
            .order_by(File.playlist_position)
        )
        return list((await self._session.scalars(statement)).all())

    async def end_items(self, playlist_id: uuid.UUID, state: RequestState, reason: str) -> bool:
        """End what is left of a playlist, and the playlist, in `state` (its ✖: cancelled;
        queued items never start, a running one is stopped by its worker). True when this
        ended the playlist: its last word is then the caller's to say (see `end`)."""
        assert state.is_final
        files = FileRepository(self._session)
        for file_id in await self.pending_item_ids(playlist_id):
            await files.set_state(file_id, state, error_reason=reason)
        return await self.end(playlist_id, state)

    async def tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        """The items by how they ended (`end` marks the playlist once they all have)."""
        statement = (
            select(File.state, func.count())
            .where(File.playlist_id == playlist_id)
            .group_by(File.state)
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
