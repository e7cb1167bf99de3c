"""The lookup lane's records: requests waiting for a lookup, and each link's shared lookup.

`LookupRequests` (the `lookup_requests` table) is what the bot records before it publishes a
lookup job, and what the worker that answers it claims, so that the answer goes out once
however often the job is delivered. `SharedLookups` (the `lookups` table) is where every
worker of the fleet meets for one link (keyed by its identity: every form of one video is
one row): the first to `take` a link looks it up and `finish`es
it; the others `read` its row until it is finished (or its lease runs out, when its worker
died, and one of them takes it over). A finished answer is given again for `recent_s`; a
failure only to the requests that were waiting for it when it came.

Every time is read on the database's clock (`_EpochNow`), the one clock all processes share.
Each call is one short transaction of its own on an autocommit connection.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, delete, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mediabot.db.engine import autocommit
from mediabot.db.models import LookupRequest, SharedLookup
from mediabot.db.updates import _EpochNow
from mediabot.db.upserts import take_row
from mediabot.domain.lookups import (
    LookupKind,
    LookupState,
    Outcome,
    decode_outcome,
    encode_outcome,
)

logger = logging.getLogger(__name__)

RECENT_S = 60.0
"""How long a link's answer is given again without a lookup: far shorter than the life of
the signed media addresses it may hold, and the offer is looked up again at download."""
_RUNNING = "running"
_DONE = "done"
_FAILED = "failed"


_INSERT_REQUEST = insert(LookupRequest).values(created_at=_EpochNow())
_REQUEST_COLUMNS = tuple(
    column.key for column in LookupRequest.__table__.c if column.key != "created_at"
)


class LookupRequests:
    """The requests of the lookup lane; the bot adds them, the worker that answers claims."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    async def record(engine: AsyncEngine, request: LookupRequest) -> uuid.UUID:
        """Record `request`, committed, in one statement of its own on `engine` (an
        autocommit connection: one round trip, no ORM flush); its `created_at` is the
        database's clock, computed by the INSERT, and not loaded back. Its id."""
        if request.id is None:
            request.id = uuid.uuid4()
        request.state = LookupState.PENDING
        given = inspect(request).dict
        values = {name: given[name] for name in _REQUEST_COLUMNS if name in given}
        async with autocommit(engine).connect() as connection:
            await connection.execute(_INSERT_REQUEST, values)
        return request.id

    @staticmethod
    async def last_for_message(
        session: AsyncSession, telegram_chat_id: int, message_id: int
    ) -> LookupRequest | None:
        """The request for the message `message_id` of the chat's last version (the
        highest update id; recorded last when none has one), if any is kept (answered
        requests are pruned after a day)."""
        found = await session.execute(
            select(LookupRequest)
            .where(_links_of_message(telegram_chat_id, message_id))
            .order_by(LookupRequest.update_id.desc().nulls_last(), LookupRequest.created_at.desc())
            .limit(1)
        )
        return found.scalar_one_or_none()

    async def superseded(self, request: LookupRequest) -> bool:
        """Whether `request` (a message's links) was followed by a request for a later edit
        of the same message: only the message's last version is worth answering. Later
        means a higher update id (edits may be recorded out of order: the bot handles
        updates concurrently); a request without one (an older release's) is never
        superseded."""
        if (
            request.kind != LookupKind.MESSAGE
            or request.message_id is None
            or request.update_id is None
        ):
            return False
        async with AsyncSession(self._engine) as session:
            newer = await session.scalar(
                select(LookupRequest.id)
                .where(
                    _links_of_message(request.telegram_chat_id, request.message_id),
                    LookupRequest.update_id > request.update_id,
                )
                .limit(1)
            )
        return newer is not None

    async def get(self, request_id: uuid.UUID) -> LookupRequest | None:
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            return await session.get(LookupRequest, request_id)

    async def claim(self, request_id: uuid.UUID, owner: str, lease_s: float) -> float | None:
        """Take the request to look it up, when it is pending and nobody's lease holds it.

        Returns its age in seconds when taken; None when it is answered or held.
        """
        now = _EpochNow()
        async with self._engine.connect() as connection:
            taken = await connection.execute(
                _update_pending(request_id, _unleased(now))
                .values(owner=owner, lease_until=now + lease_s)
                .returning(now - LookupRequest.created_at)
            )
            row = taken.first()
        return float(row[0]) if row is not None else None

    async def held_for_s(self, request_id: uuid.UUID) -> float | None:
        """How long another worker's lease on a pending request still holds; None when the
        request is answered (or gone)."""
        now = _EpochNow()
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(LookupRequest.state, LookupRequest.lease_until - now).where(
                        LookupRequest.id == request_id
                    )
                )
            ).first()
        if row is None or row[0] != LookupState.PENDING:
            return None
        return max(0.0, float(row[1] or 0.0))

    async def renew(self, request_id: uuid.UUID, owner: str, lease_s: float) -> bool:
        """Move this owner's lease ahead; False when it is no longer its own."""
        now = _EpochNow()
        async with self._engine.connect() as connection:
            renewed = await connection.execute(
                _update_pending(request_id, LookupRequest.owner == owner).values(
                    lease_until=now + lease_s
                )
            )
        return bool(renewed.rowcount)

    async def set_placeholders(
        self, request_id: uuid.UUID, owner: str, placeholders: list[int | None]
    ) -> None:
        """Record the "looking up" messages sent for the request (one per link)."""
        async with self._engine.connect() as connection:
            await connection.execute(
                update(LookupRequest)
                .where(LookupRequest.id == request_id, LookupRequest.owner == owner)
                .values(placeholders=placeholders)
            )

    async def claim_answer(self, request_id: uuid.UUID, owner: str) -> bool:
        """Take the right to send the answer: True for exactly one caller per request."""
        async with self._engine.connect() as connection:
            taken = await connection.execute(
                _update_pending(
                    request_id, (LookupRequest.owner == owner) | _unleased(_EpochNow())
                ).values(state=LookupState.ANSWERING, owner=owner)
            )
        return bool(taken.rowcount)

    async def give_back_answer(self, request_id: uuid.UUID, owner: str) -> bool:
        """Return the right to send the answer (`claim_answer`) that `owner` holds, for
        when nothing of the answer was sent: the request is pending again and unleased, so
        the next delivery of its job (on any worker), its dead letter or the sweep answers
        it. False when it is not this owner's claim (answered, or never claimed)."""
        async with self._engine.connect() as connection:
            given = await connection.execute(
                update(LookupRequest)
                .where(
                    LookupRequest.id == request_id,
                    LookupRequest.state == LookupState.ANSWERING,
                    LookupRequest.owner == owner,
                )
                .values(state=LookupState.PENDING, lease_until=None)
            )
        return bool(given.rowcount)

    async def answered(self, request_id: uuid.UUID) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                update(LookupRequest)
                .where(LookupRequest.id == request_id)
                .values(state=LookupState.ANSWERED, answered_at=_EpochNow(), lease_until=None)
            )

    async def unanswered(self, older_than_s: float, limit: int = 200) -> list[LookupRequest]:
        """Pending requests nobody's lease holds, recorded over `older_than_s` ago: their
        job was lost (a broker that lost it, an expired message, an embedded queue that
        ended with its process)."""
        now = _EpochNow()
        async with AsyncSession(self._engine, expire_on_commit=False) as session:
            rows = await session.scalars(
                select(LookupRequest)
                .where(
                    LookupRequest.state == LookupState.PENDING,
                    LookupRequest.created_at < now - older_than_s,
                    _unleased(now),
                )
                .order_by(LookupRequest.created_at)
                .limit(limit)
            )
            return list(rows)

    async def prune(self, older_than_s: float) -> int:
        """Delete answered requests recorded over `older_than_s` ago."""
        async with self._engine.connect() as connection:
            gone = await connection.execute(
                delete(LookupRequest).where(
                    LookupRequest.state == LookupState.ANSWERED,
                    LookupRequest.created_at < _EpochNow() - older_than_s,
                )
            )
        return int(gone.rowcount or 0)


def _links_of_message(telegram_chat_id: int | None, message_id: int | None) -> ColumnElement[bool]:
    """The requests for the links of the chat's message `message_id` (any version of it)."""
    return and_(
        LookupRequest.telegram_chat_id == telegram_chat_id,
        LookupRequest.message_id == message_id,
        LookupRequest.kind == LookupKind.MESSAGE,
    )


def _update_pending(request_id: uuid.UUID, *where: ColumnElement[bool]) -> Update:
    """An UPDATE of the request while it is still pending and `where` holds."""
    return update(LookupRequest).where(
        LookupRequest.id == request_id, LookupRequest.state == LookupState.PENDING, *where
    )


def _unleased(now: _EpochNow) -> ColumnElement[bool]:
    """No worker's lease holds the request (none taken, or run out by `now`)."""
    return LookupRequest.lease_until.is_(None) | (LookupRequest.lease_until < now)


@dataclass(frozen=True, slots=True)
class Taken:
    """This worker looks the link up; it must `finish` it (its lease says until when)."""

    owner: str


@dataclass(frozen=True, slots=True)
class Answered:
    """The link's answer, from a lookup that finished (`shared`: one this caller did not run)."""

    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Running:
    """Another worker is looking the link up; read again in a moment."""


Board = Taken | Answered | Running


class SharedLookups:
    """One lookup per link across the fleet, its answer shared for `recent_s`."""

    def __init__(self, engine: AsyncEngine, *, recent_s: float = RECENT_S) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.recent_s = recent_s

    async def take(self, url: str, owner: str, lease_s: float, since: float | None) -> Board:
        """The link's recent answer, or the lookup to run (taken here), or word that it runs.

        `since` is when the caller began waiting for this link (the database's clock, from an
        earlier `take`), None on its first call: a failure that came after it is the
        caller's answer too; one from before it is not, and the link is looked up again.
        """
        now = _EpochNow()
        async with self._engine.connect() as connection:
            row = {
                "url": url,
                "state": _RUNNING,
                "owner": owner,
                "lease_until": now + lease_s,
                "started_at": now,
                "answer": None,
                "finished_at": None,
            }
            stale = (SharedLookup.state == _RUNNING) & (SharedLookup.lease_until < now)
            old = (SharedLookup.state == _DONE) & (SharedLookup.finished_at < now - self.recent_s)
            failed = SharedLookup.state == _FAILED
            if since is not None:
                failed = failed & (SharedLookup.finished_at < since)
            if await take_row(connection, SharedLookup.url, row, where=stale | old | failed):
                return Taken(owner)
            found = (
                await connection.execute(
                    select(SharedLookup.state, SharedLookup.answer).where(SharedLookup.url == url)
                )
            ).first()
        if found is None or found[0] == _RUNNING or found[1] is None:
            return Running()
        return Answered(decode_outcome(found[1]))

    async def now(self) -> float:
        """The database's clock (what `take` compares `since` with)."""
        async with self._engine.connect() as connection:
            return float((await connection.execute(select(_EpochNow()))).scalar_one())

    async def renew(self, url: str, owner: str, lease_s: float) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(
                update(SharedLookup)
                .where(
                    SharedLookup.url == url,
                    SharedLookup.owner == owner,
                    SharedLookup.state == _RUNNING,
                )
                .values(lease_until=_EpochNow() + lease_s)
            )

    async def finish(self, url: str, owner: str, outcome: Outcome, *, failed: bool) -> None:
        """Record the lookup's answer (or failure) for the requests waiting and to come."""
        answer: dict[str, Any] = encode_outcome(outcome)
        async with self._engine.connect() as connection:
            await connection.execute(
                update(SharedLookup)
                .where(SharedLookup.url == url, SharedLookup.owner == owner)
                .values(state=_FAILED if failed else _DONE, answer=answer, finished_at=_EpochNow())
            )

    async def give_up(self, url: str, owner: str) -> None:
        """Drop a lookup this owner will not finish (cancelled): the next caller takes it."""
        async with self._engine.connect() as connection:
            await connection.execute(
                delete(SharedLookup).where(
                    SharedLookup.url == url,
                    SharedLookup.owner == owner,
                    SharedLookup.state == _RUNNING,
                )
            )

    async def prune(self) -> int:
        """Delete answers older than `recent_s` (and leases long run out)."""
        now = _EpochNow()
        async with self._engine.connect() as connection:
            gone = await connection.execute(
                delete(SharedLookup).where(
                    (SharedLookup.finished_at < now - self.recent_s)
                    | (
                        (SharedLookup.state == _RUNNING)
                        & (SharedLookup.lease_until < now - self.recent_s)
                    )
                )
            )
        return int(gone.rowcount or 0)
