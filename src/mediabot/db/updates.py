"""Claims on Telegram updates in the `updates` table, so that each is handled once.

Telegram delivers an update again when it got no 2xx for it (a webhook that timed out, a
connection that broke, a process that died), and behind a load balancer the next delivery
may reach another process; a long poller restarted after a crash gets again the updates it
had not confirmed. A process handles an update only once it holds its claim:

- `claim` is one statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE, on PostgreSQL and
  SQLite alike): the first delivery inserts the row; a later one takes the row over only when
  the update is not handled and the claim's lease has run out (its process died, or stalled
  past the lease, before finishing). Otherwise it learns that the update is handled (drop
  it) or held by a live claim (come back when the lease may have run out), in a second
  statement that only such a delivery runs.
- Given the update's visitor, the same statement on PostgreSQL records the visit too
  (`db.visits`: the user's and chat's upserts, their language and ban read back): one round
  trip for both. A delivery that does not get the claim upserts the same rows again, which
  changes nothing the first delivery did not. On SQLite the claim and the upserts run one
  after the other in one transaction, the upserts only when the claim was taken.
- The holder renews the lease while it handles the update and marks it handled at the end.
  The ends asked for while one such statement is under way go together in the next (a
  group commit: under a burst one round trip marks many updates, alone one marks one), and
  each `finish` returns once its own update is marked.

Every time is read on the database's clock, the one clock all processes share. Rows older
than `keep_s` (a day: Telegram keeps an unconfirmed update for about as long) are deleted
by `prune`. One bot per database: update ids are the bot's own sequence.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float, String, bindparam, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from mediabot.db.models import UpdateClaim
from mediabot.db.upserts import taking
from mediabot.db.visits import (
    Visit,
    Visitor,
    record_one_by_one,
    visit_of_row,
    visit_parameters,
    visit_statement,
)

KEEP_S = 24 * 3600.0
"""How long a claim's row is kept: past this, Telegram no longer delivers its update."""


class _EpochNow(FunctionElement[float]):
    """Seconds since the epoch on the database's clock, one value within a statement."""

    type = Float()
    inherit_cache = True
    name = "epoch_now"


@compiles(_EpochNow, "postgresql")
def _epoch_now_postgresql(element: _EpochNow, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(extract(epoch FROM statement_timestamp()) AS float8)"


@compiles(_EpochNow, "sqlite")
def _epoch_now_sqlite(element: _EpochNow, compiler: SQLCompiler, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"  # 'now' is fixed within a statement


@dataclass(frozen=True, slots=True)
class Claimed:
    """This process holds the update: handle it, then `finish`."""

    update_id: int
    owner: str
    visit: Visit | None = None
    """The visit recorded with the claim, when `claim` was given the update's visitor."""


@dataclass(frozen=True, slots=True)
class Handled:
    """The update was handled already (here or by another process): drop it."""


@dataclass(frozen=True, slots=True)
class Busy:
    """Another claim on the update is live; it runs out in `retry_in_s` unless renewed."""

    retry_in_s: float


Claim = Claimed | Handled | Busy

_HANDLED = Handled()


def _claim_statement(insert: Any) -> Any:
    """The claim (`insert`: the dialect's INSERT), with the parameters `claim_update_id`,
    `claim_owner` and `claim_lease_s`; it returns a row when the claim was taken."""
    now = _EpochNow()
    values = insert(UpdateClaim).values(
        update_id=bindparam("claim_update_id", type_=BigInteger()),
        owner=bindparam("claim_owner", type_=String()),
        claimed_at=now,
        lease_until=now + bindparam("claim_lease_s", type_=Float()),
    )
    free = UpdateClaim.handled_at.is_(None) & (UpdateClaim.lease_until < now)
    columns = ("owner", "claimed_at", "lease_until")
    return taking(values, UpdateClaim.update_id, columns, where=free)


_PG_CLAIM = _claim_statement(postgresql_insert)
_SQLITE_CLAIM = _claim_statement(sqlite_insert)
_PG_CLAIM_AND_VISIT = {
    chat: visit_statement(chat=chat, taking=_PG_CLAIM.cte("claimed")) for chat in (False, True)
}
"""The claim and the visit in one statement, by whether the visit has a chat."""
_THIS_CLAIM = (
    UpdateClaim.update_id == bindparam("claim_update_id", type_=BigInteger()),
    UpdateClaim.owner == bindparam("claim_owner", type_=String()),
)
_RENEW = (
    update(UpdateClaim)
    .where(*_THIS_CLAIM, UpdateClaim.handled_at.is_(None))
    .values(lease_until=_EpochNow() + bindparam("claim_lease_s", type_=Float()))
)
_FINISH_MANY = (
    update(UpdateClaim)
    .where(
        tuple_(UpdateClaim.update_id, UpdateClaim.owner).in_(bindparam("claims", expanding=True))
    )
    .values(handled_at=_EpochNow())
    .returning(UpdateClaim.update_id, UpdateClaim.owner)
)


def _of(claim: Claimed) -> dict[str, Any]:
    """The parameters that name `claim` in `_RENEW`."""
    return {"claim_update_id": claim.update_id, "claim_owner": claim.owner}


async def _held(connection: AsyncConnection, update_id: int) -> Claim:
    """What keeps a claim not taken from being taken: the update is handled, or a live
    claim holds it (read in a statement of its own, which sees the claim that won)."""
    now = _EpochNow()
    held = (
        await connection.execute(
            select(UpdateClaim.handled_at, UpdateClaim.lease_until - now).where(
                UpdateClaim.update_id == update_id
            )
        )
    ).first()
    if held is None:  # pruned in between: it is older than a day, nobody wants it now
        return _HANDLED
    handled_at, left_s = held
    if handled_at is not None:
        return _HANDLED
    return Busy(max(0.0, float(left_s)))


class UpdateClaims:
    """The claims of one process. `owner` names the process (host, pid); each claim it
    makes gets a number of its own after it, so two deliveries of one update to the same
    process are told apart as well as deliveries to two processes."""

    def __init__(
        self, engine: AsyncEngine, *, owner: str, lease_s: float, keep_s: float = KEEP_S
    ) -> None:
        # One statement each: no transaction around it, one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._transactions = engine
        self._postgresql = engine.dialect.name == "postgresql"
        self._claim_statement = _PG_CLAIM if self._postgresql else _SQLITE_CLAIM
        self._owner = owner
        self._numbers = itertools.count(1)
        self.lease_s = lease_s
        self.keep_s = keep_s
        self._to_finish: list[tuple[Claimed, asyncio.Future[bool]]] = []
        self._finishing: asyncio.Task[None] | None = None

    async def claim(self, update_id: int, visitor: Visitor | None = None) -> Claim:
        """Take the update if nobody holds it and it is not handled yet; with `visitor`
        (who sent it), record the visit in the same round trip (see the module)."""
        owner = f"{self._owner}/{next(self._numbers)}"
        parameters: dict[str, Any] = {
            "claim_update_id": update_id,
            "claim_owner": owner,
            "claim_lease_s": self.lease_s,
        }
        if visitor is not None and not self._postgresql:
            return await self._claim_and_visit_one_by_one(update_id, owner, visitor, parameters)
        async with self._engine.connect() as connection:
            if visitor is None:
                taken = await connection.execute(self._claim_statement, parameters)
                if taken.first() is not None:
                    return Claimed(update_id, owner)
            else:
                parameters.update(visit_parameters(visitor))
                statement = _PG_CLAIM_AND_VISIT[visitor.chat is not None]
                row = (await connection.execute(statement, parameters)).one()
                if row.taken:
                    return Claimed(update_id, owner, visit_of_row(row, visitor))
            return await _held(connection, update_id)

    async def _claim_and_visit_one_by_one(
        self, update_id: int, owner: str, visitor: Visitor, parameters: dict[str, Any]
    ) -> Claim:
        async with self._transactions.begin() as connection:
            taken = await connection.execute(self._claim_statement, parameters)
            if taken.first() is not None:
                return Claimed(update_id, owner, await record_one_by_one(connection, visitor))
            return await _held(connection, update_id)

    async def renew(self, claim: Claimed) -> bool:
        """Move the lease `lease_s` ahead; False when the claim is no longer this one's (its
        lease ran out and another delivery took the update over)."""
        async with self._engine.connect() as connection:
            renewed = await connection.execute(
                _RENEW, {**_of(claim), "claim_lease_s": self.lease_s}
            )
        return bool(renewed.rowcount)

    async def finish(self, claim: Claimed) -> bool:
        """Mark the update handled; False when the claim was taken over meanwhile. Marked
        with the other ends asked for meanwhile (see the module); cancelling the wait does
        not take it back."""
        marked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_finish.append((claim, marked))
        if self._finishing is None or self._finishing.done():
            self._finishing = asyncio.create_task(self._finish_all())
        return await marked

    async def _finish_all(self) -> None:
        """Mark the claims waiting to finish, a statement for all of those waiting at once,
        until none waits."""
        while self._to_finish:
            batch, self._to_finish = self._to_finish, []
            try:
                async with self._engine.connect() as connection:
                    rows = await connection.execute(
                        _FINISH_MANY, {"claims": [(c.update_id, c.owner) for c, _ in batch]}
                    )
                    finished = {(row.update_id, row.owner) for row in rows}
            except Exception as exc:
                for _, marked in batch:
                    if not marked.done():
                        marked.set_exception(exc)
                continue
            for claim, marked in batch:
                if not marked.done():
                    marked.set_result((claim.update_id, claim.owner) in finished)

    async def prune(self) -> int:
        """Delete the claims older than `keep_s`; how many went."""
        async with self._engine.connect() as connection:
            pruned = await connection.execute(
                delete(UpdateClaim).where(UpdateClaim.claimed_at < _EpochNow() - self.keep_s)
            )
        return int(pruned.rowcount)
