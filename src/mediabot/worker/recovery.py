"""Recovery: requests nobody works on are published again or ended; work folders are swept.

A request never stays in a non-final state without an owner. The queue may lose track of
a request (the bot died between commit and publish, a worker died holding it, the
in-process queue was restarted, a row was left half-written by hand). The database does
not: a pending request (accepted, queued, downloading, uploading) whose lease ran out, or
that has no lease and has not moved for a while, goes back on the queue with its attempt
count, or, once it has used all its attempts, is ended as failed with a reason and its
user told. Publishing twice is harmless, because a worker must take the lease first. A
request whose file Telegram already has goes to the cached lane when there is one, so that
after a restart it does not wait behind downloads.

Work folders: a request's folder is `<work dir>/<request id>`, created and removed by the
worker that holds its lease. The sweep (at start-up and every round) removes the folders
of requests that no live lease covers, which is what a killed worker leaves. Workers that
share a `DATA_DIR` (one machine) thus clean up after each other but never touch a folder
in use: a live lease means a live owner. Entries whose name is not a request id are not
ours and are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from dataclasses import KW_ONLY, dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.base import utcnow
from mediabot.db.models import RequestRow
from mediabot.db.outages import database_unavailable
from mediabot.db.repositories import RequestRows
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Variant
from mediabot.queue.base import DeadLetterHandler, JobQueue, PublishFailedError

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=3)
INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class Recovery:
    """Republishes or ends the requests nobody works on, and sweeps work folders.

    `max_attempts`: a stale request that used this many is ended, not published;
    `give_up` records that and tells the user (the pipeline's `on_dead_letter`);
    `cached_queue`: the cached lane, for requests whose file Telegram already has.
    """

    sessions: async_sessionmaker[AsyncSession]
    job_queue: JobQueue
    work_dir: Path
    _: KW_ONLY
    stale_after: timedelta = STALE_AFTER
    max_attempts: int | None = None
    give_up: DeadLetterHandler | None = None
    cached_queue: JobQueue | None = None

    async def republish(self, *, everything: bool = False) -> int:
        """Publish pending requests that nobody holds, or end those out of attempts.

        `everything` ignores how long they have not moved. Returns how many were published.
        """
        older_than = utcnow() - (timedelta(0) if everything else self.stale_after)
        async with self.sessions() as session:
            files = RequestRows(session)
            stale = list(await files.stale_pending(older_than))
            spent = [file for file in stale if self._out_of_attempts(file)]
            to_publish = [file for file in stale if not self._out_of_attempts(file)]
            cached = {
                file.id
                for file in to_publish
                if self.cached_queue is not None
                and file.kind is not None
                and await files.find_delivered(
                    file.media_key, Variant(file.kind, file.resolution, file.form)
                )
            }
            await files.requeued([file.id for file in to_publish])
            await session.commit()
        for file in spent:
            await self._end(file)
        for file in to_publish:
            lane = self.cached_queue if file.id in cached and self.cached_queue else self.job_queue
            await lane.publish(Job(file.id, attempt=file.attempts + 1))
        if to_publish:
            logger.info("recovery: published %d pending request(s) again", len(to_publish))
        return len(to_publish)

    def _out_of_attempts(self, file: RequestRow) -> bool:
        return self.max_attempts is not None and file.attempts >= self.max_attempts

    async def _end(self, file: RequestRow) -> None:
        reason = f"given up after {file.attempts} attempt(s); its last worker stopped answering"
        logger.warning("recovery: request %s: %s", file.id, reason)
        if self.give_up is not None:
            await self.give_up(Job(file.id, attempt=file.attempts), reason)
            return
        async with self.sessions() as session:
            await RequestRows(session).set_state(file.id, RequestState.FAILED, error_reason=reason)
            await session.commit()

    async def sweep_work_dir(self) -> int:
        """Remove work folders of requests that no live worker holds."""
        if not self.work_dir.is_dir():
            return 0
        folders: dict[uuid.UUID, Path] = {}
        for path in self.work_dir.iterdir():
            try:
                folders[uuid.UUID(path.name)] = path
            except ValueError:
                continue
        async with self.sessions() as session:
            live = await RequestRows(session).leased_ids(list(folders))
        removed = 0
        for request_id, path in folders.items():
            if request_id not in live:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        if removed:
            logger.info("recovery: swept %d orphaned work folder(s)", removed)
        return removed

    async def run_forever(self, interval_s: float = INTERVAL_S) -> None:
        """Republish and sweep every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.republish()
                await self.sweep_work_dir()
            except Exception as exc:
                if database_unavailable(exc) or isinstance(exc, PublishFailedError):
                    logger.warning(
                        "recovery round skipped, the database or the broker is away (%s); "
                        "trying again in %.0f s",
                        type(exc).__name__,
                        interval_s,
                    )
                else:
                    logger.exception("recovery round failed; trying again in %.0f s", interval_s)
