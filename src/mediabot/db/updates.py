"""Claims on Telegram updates in the `updates` table, so that each is handled once.

Telegram delivers an update again when it got no 2xx for it (a webhook that timed out, a
connection that broke, a process that died), and behind a load balancer the next delivery
may reach another process; a long poller restarted after a crash gets again the updates it
had not confirmed. A process handles an update only once it holds its claim:

- `claim` is one statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE, on PostgreSQL and
  SQLite alike): the first delivery inserts the row; a later one takes the row over only when
  the update is not handled and the claim's lease has run out (its process died, or stalled
  past the lease, before finishing). Otherwise it learns that the update is handled (drop
  it) or held by a live claim (come back when the lease may have run out).
- The holder renews the lease while it handles the update and marks it handled at the end.

Every time is read on the database's clock, the one clock all processes share. Rows older
than `keep_s` (a day: Telegram keeps an unconfirmed update for about as long) are deleted
by `prune`. One bot per database: update ids are the bot's own sequence.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from mediabot.db.models import UpdateClaim
from mediabot.db.upserts import take_row

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


@dataclass(frozen=True, slots=True)
class Handled:
    """The update was handled already (here or by another process): drop it."""


@dataclass(frozen=True, slots=True)
class Busy:
    """Another claim on the update is live; it runs out in `retry_in_s` unless renewed."""

    retry_in_s: float


Claim = Claimed | Handled | Busy

_HANDLED = Handled()


class UpdateClaims:
    """The claims of one process. `owner` names the process (host, pid); each claim it
    makes gets a number of its own after it, so two deliveries of one update to the same
    process are told apart as well as deliveries to two processes."""

    def __init__(
        self, engine: AsyncEngine, *, owner: str, lease_s: float, keep_s: float = KEEP_S
    ) -> None:
        # One statement each: no transaction around it, one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._owner = owner
        self._numbers = itertools.count(1)
        self.lease_s = lease_s
        self.keep_s = keep_s

    async def claim(self, update_id: int) -> Claim:
        """Take the update if nobody holds it and it is not handled yet."""
        owner = f"{self._owner}/{next(self._numbers)}"
        now = _EpochNow()
        async with self._engine.connect() as connection:
            row = {
                "update_id": update_id,
                "owner": owner,
                "claimed_at": now,
                "lease_until": now + self.lease_s,
            }
            free = UpdateClaim.handled_at.is_(None) & (UpdateClaim.lease_until < now)
            if await take_row(connection, UpdateClaim.update_id, row, where=free):
                return Claimed(update_id, owner)
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

    async def renew(self, claim: Claimed) -> bool:
        """Move the lease `lease_s` ahead; False when the claim is no longer this one's (its
        lease ran out and another delivery took the update over)."""
        now = _EpochNow()
        async with self._engine.connect() as connection:
            renewed = await connection.execute(
                update(UpdateClaim)
                .where(
                    UpdateClaim.update_id == claim.update_id,
                    UpdateClaim.owner == claim.owner,
                    UpdateClaim.handled_at.is_(None),
                )
                .values(lease_until=now + self.lease_s)
            )
        return bool(renewed.rowcount)

    async def finish(self, claim: Claimed) -> bool:
        """Mark the update handled; False when the claim was taken over meanwhile."""
        async with self._engine.connect() as connection:
            finished = await connection.execute(
                update(UpdateClaim)
                .where(UpdateClaim.update_id == claim.update_id, UpdateClaim.owner == claim.owner)
                .values(handled_at=_EpochNow())
            )
        return bool(finished.rowcount)

    async def prune(self) -> int:
        """Delete the claims older than `keep_s`; how many went."""
        async with self._engine.connect() as connection:
            pruned = await connection.execute(
                delete(UpdateClaim).where(UpdateClaim.claimed_at < _EpochNow() - self.keep_s)
            )
        return int(pruned.rowcount)
