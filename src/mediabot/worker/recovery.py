"""Recovery: requests nobody works on are published again; orphaned work folders are swept.

The queue may lose track of a request (the bot died between commit and publish, a
worker died holding it, the in-process queue was restarted). The database does not: a
pending request whose lease is free and that has not moved for a while goes back on the
queue. Publishing twice is harmless, because a worker must take the lease first.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.base import utcnow
from mediabot.db.repositories import FileRepository
from mediabot.domain.jobs import Job
from mediabot.queue.base import JobQueue

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=3)
INTERVAL_S = 60.0


class Recovery:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        job_queue: JobQueue,
        work_dir: Path,
        *,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self._sessions = sessions
        self._queue = job_queue
        self._work_dir = work_dir
        self._stale_after = stale_after

    async def republish(self, *, everything: bool = False) -> int:
        """Publish pending requests that nobody holds; `everything` ignores their age."""
        older_than = utcnow() - (timedelta(0) if everything else self._stale_after)
        async with self._sessions() as session:
            files = FileRepository(session)
            stale = [file.id for file in await files.stale_pending(older_than)]
            await files.requeued(stale)
            await session.commit()
        for request_id in stale:
            await self._queue.publish(Job(request_id))
        if stale:
            logger.info("recovery: published %d pending request(s) again", len(stale))
        return len(stale)

    async def sweep_work_dir(self) -> int:
        """Remove work folders of requests that no live worker holds."""
        if not self._work_dir.is_dir():
            return 0
        folders: dict[uuid.UUID, Path] = {}
        for path in self._work_dir.iterdir():
            try:
                folders[uuid.UUID(path.name)] = path
            except ValueError:
                continue
        async with self._sessions() as session:
            live = await FileRepository(session).leased_ids(list(folders))
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
            except Exception:
                logger.exception("recovery round failed; trying again in %.0f s", interval_s)
