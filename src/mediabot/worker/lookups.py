"""The lookup lane's consumer: one lookup request (a message's links, an inline query) in,
its answer out, exactly once, whichever worker and however often the job is delivered.

- Claim: the request is taken with a lease (renewed while this worker works on it). A
  delivery of a request another live worker holds is deferred until that lease may have run
  out; one already answered is dropped. A worker killed mid-lookup leaves a lease that runs
  out, and the broker's redelivery takes the request over.
- Look up: each link through `SharedLookups`, the fleet's meeting point: one worker looks a
  link up, every other request for it (on any worker) waits on its row and takes its
  answer; within this process, requests for one link also share one waiter.
- One message per answer: the "looking up" placeholder goes out only for a link whose
  lookup is not done `placeholder_after_s` after the update (and half a second after a
  worker took it, when it waited longer for one); a link answered sooner gets its keyboard
  as the one message.
- Answer: the reads that may fail come first, then the right to send is claimed in the
  database (`claim_answer`), then the answer is recorded and sent (`LookupReplies`). An
  answer that fails before anything of it was sent (`LookupReplies.answer` raises only
  then) gives the claim back and fails the job: its retry, its dead letter or the sweep
  answers it. A worker that dies (or is stopped) between the claim and the send leaves
  the user without an answer rather than with two.
- Only a message's last version: a request followed by one for an edit of its message is
  dropped unanswered (unless its placeholder is out: that one is answered), so a message
  edited ten times in a row gets one answer, not ten.
- Fair to others: a user's links are looked up `links_per_user` at a time (this worker's
  count), so one user's links to slow or silent servers never take every lookup process;
  past one request more than that in the works, their next is deferred (back to the
  queue), so their backlog never takes the lane's places either.
- Nothing lost silently: a request whose job waited past `wait_s` (a backlog, a broker that
  dropped the expired message, an embedded queue that died with its process) is answered
  with a plain reason, by the worker that gets it or by `sweep` (pending, unleased, old).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from mediabot import metrics
from mediabot.db.lookups import Answered, LookupRequests, SharedLookups, Taken
from mediabot.db.models import LookupRequest
from mediabot.db.outages import database_unavailable
from mediabot.domain.jobs import Job
from mediabot.domain.lookups import Found, LookupKind, Outcome, Refused
from mediabot.domain.retry import Backoff, hold_through
from mediabot.downloaders.errors import SitePushBackError, StalledError, rebuild
from mediabot.queue.base import DeferJobError
from mediabot.worker.lookup_find import Finder

logger = logging.getLogger(__name__)

PLACEHOLDER_AFTER_S = 1.0
"""A lookup done within this long after its update is answered with its keyboard alone."""
PLACEHOLDER_GRACE_S = 0.5
"""A lookup that waited for a worker past `PLACEHOLDER_AFTER_S` still gets this long before
its placeholder: most lookups end within it, and a placeholder edited into the keyboard a
moment later would cost two messages for nothing (a burst's backlog doubled)."""
LOOKUP_WAIT_S = 120.0
"""Longest a message's links may wait for a worker, from their update: a request older than
this when a worker takes it, or still unanswered and unclaimed then (its job lost), is
answered with a plain reason. Longer than the lane's message expiry (30 s from publishing,
`app.processes.LOOKUP_EXPIRY_S`), since the bot may have held the publishing through a
broker outage."""
INLINE_WAIT_S = 7.0
"""Longest an inline query's lookup may take: Telegram drops an answer after about 10 s
("query is too old"), so a slower lookup is not answered at all."""
GIVE_BACK_BACKOFF = Backoff(base_delay_s=0.25, max_delay_s=2.0, max_attempts=6)
"""About 6 s of tries: the database refusing connections for a moment (too many clients, a
restart) must not leave the request claimed and never answered."""
_POLL_FIRST_S = 0.05
_POLL_MOST_S = 0.5
_KEEP_ANSWERED_S = 24 * 3600.0


class LookupReplies(Protocol):
    """The Telegram side of an answer: records the offers and sends them (`lookup_replies`)."""

    async def placeholders(self, request: LookupRequest, links: list[int]) -> list[int | None]:
        """Send "looking up" for the links at `links`; the message ids, per link of the
        request (None where none was sent)."""

    async def answer(self, request: LookupRequest, outcomes: list[Outcome | None]) -> None:
        """Answer every link (None: its lookup did not end in time); never raises for
        Telegram's refusals (logged). Raises only before anything of the answer was sent
        (the caller then gives its claim back for another try)."""


@dataclass(frozen=True, slots=True)
class LookupLane:
    """The parts a `LookupWorker` works with."""

    requests: LookupRequests
    shared: SharedLookups
    find: Finder
    replies: LookupReplies
    owner: str
    identity: Callable[[str], str] = str
    """The key a link's lookup is shared under (`lookup_find.identity`: every form of one
    video shares one lookup)."""
    lease_s: float = 15.0
    placeholder_after_s: float = PLACEHOLDER_AFTER_S
    placeholder_grace_s: float = PLACEHOLDER_GRACE_S
    wait_s: float = LOOKUP_WAIT_S
    lookup_timeout_s: float = 90.0
    give_back_backoff: Backoff = GIVE_BACK_BACKOFF
    """Tries of returning the claim of an answer that failed before any send."""
    links_per_user: int = 1
    """Links of one user this worker looks up at once; their others wait their turn. Below
    the lookup processes (`lookup_pool`): a user's links to servers that hardly answer
    each hold a process until the lookup's deadline, and they must leave one to others."""


class LookupWorker:
    """Answers lookup requests: `handle` is the lane's job handler."""

    def __init__(self, lane: LookupLane) -> None:
        self._lane = lane
        self._waiters: dict[str, asyncio.Task[Outcome]] = {}
        self._turns = _Turns(lane.links_per_user)
        self._working_for: Counter[uuid.UUID] = Counter()
        """Requests in `_work` per user: past `links_per_user`, a user's next one is
        deferred rather than hold a place of the lane while it waits for its turn."""

    async def handle(self, job: Job) -> None:
        lane = self._lane
        request = await lane.requests.get(job.request_id)
        if request is None:
            return
        user_id = request.user_id
        if user_id is not None and self._working_for[user_id] > lane.links_per_user:
            # Its user's turns are taken: the lane's places are left to other users.
            raise DeferJobError(f"lookup {job.request_id}: its user's other links come first")
        age = await lane.requests.claim(job.request_id, lane.owner, lane.lease_s)
        if age is None:
            held_s = await lane.requests.held_for_s(job.request_id)
            if held_s is None:
                logger.info("lookup %s: answered already", job.request_id)
                return
            raise DeferJobError(f"lookup {job.request_id} held for {held_s:.1f} s more")
        metrics.LOOKUP_QUEUE_WAIT_SECONDS.observe(age)
        logger.info(
            "lookup %s: started, %d link(s), %.2f s after its update",
            request.id,
            len(request.urls),
            age,
        )
        if user_id is None:
            await self._work(request, age)
            return
        self._working_for[user_id] += 1
        try:
            await self._work(request, age)
        finally:
            self._working_for[user_id] -= 1
            if not self._working_for[user_id]:
                del self._working_for[user_id]

    async def on_dead_letter(self, job: Job, reason: str) -> None:
        """A lookup job that failed every attempt: the user gets the plain reason."""
        lane = self._lane
        request = await lane.requests.get(job.request_id)
        if request is not None:
            logger.error("lookup %s gave up: %s", job.request_id, reason)
            await self._answer(request, [None] * len(request.urls))

    async def recover(self, publish: Callable[[Job], Awaitable[None]]) -> int:
        """Publish again the pending requests still worth answering, unclaimed (at the start
        of `mediabot run`, whose in-process queue died with the last run); the sweep
        answers the older ones. How many."""
        lane = self._lane
        now = await lane.shared.now()
        published = 0
        for request in await lane.requests.unanswered(older_than_s=0):
            if now - request.created_at < lane.wait_s:
                await publish(Job(request.id))
                published += 1
        if published:
            logger.info("%d lookup(s) of the last run published again", published)
        return published

    async def sweep(self) -> int:
        """Answer the requests whose job was lost (see the module's docstring); how many."""
        lane = self._lane
        answered = 0
        for request in await lane.requests.unanswered(older_than_s=lane.wait_s):
            age = await lane.requests.claim(request.id, lane.owner, lane.lease_s)
            if age is not None:
                logger.warning("lookup %s: its job was lost after %.0f s", request.id, age)
                await self._answer(request, [None] * len(request.urls))
                answered += 1
        await lane.requests.prune(_KEEP_ANSWERED_S)
        await lane.shared.prune()
        return answered

    async def sweep_forever(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sweep()
            except Exception:
                logger.exception("the sweep of lost lookups failed; next in %.0f s", interval_s)

    async def _work(self, request: LookupRequest, age: float) -> None:
        lane = self._lane
        renewing = asyncio.create_task(self._renew(request.id))
        try:
            wait_s = INLINE_WAIT_S if request.kind == LookupKind.INLINE else lane.wait_s
            if request.kind == LookupKind.SUBTITLES:  # nothing to look up: the answer fetches
                outcomes: list[Outcome | None] = [None]
            elif await lane.requests.superseded(request):  # `_answer` drops it
                outcomes = [None] * len(request.urls)
            elif age > wait_s:
                logger.warning("lookup %s waited %.1f s for a worker: too late", request.id, age)
                outcomes = [None] * len(request.urls)
            else:
                outcomes = await self._look_up_all(request, age)
            await self._answer(request, outcomes)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _answer(self, request: LookupRequest, outcomes: list[Outcome | None]) -> None:
        """Answer the request once (see the module): a failure of `LookupReplies.answer`
        gives the claim back and is raised, for the job's retry to answer it."""
        lane = self._lane
        # Read before the claim: a failure here leaves the request pending for the retry.
        superseded = not any(request.placeholders or ()) and await lane.requests.superseded(request)
        if not await lane.requests.claim_answer(request.id, lane.owner):
            logger.info("lookup %s: answered by another worker", request.id)
            return
        if superseded:
            logger.info("lookup %s: its message was edited since; the edit is answered", request.id)
        elif request.kind == LookupKind.INLINE and outcomes[0] is None:
            logger.info("inline query of lookup %s too old to answer", request.id)
        else:
            try:
                await lane.replies.answer(request, outcomes)
            except Exception:
                await self._give_back(request.id)
                raise
        await lane.requests.answered(request.id)

    async def _give_back(self, request_id: uuid.UUID) -> None:
        """Return the claim of an answer nothing of which was sent, through a brief
        database outage; when that fails too, the request stays unanswered (logged)."""
        lane = self._lane
        try:
            given = await hold_through(
                lambda: lane.requests.give_back_answer(request_id, lane.owner),
                database_unavailable,
                lane.give_back_backoff,
            )
        except Exception:
            logger.exception(
                "lookup %s: giving back its answer failed: left unanswered", request_id
            )
            return
        if given:
            logger.warning("lookup %s: answering failed before any send; given back", request_id)

    async def _look_up_all(self, request: LookupRequest, age: float) -> list[Outcome | None]:
        lane = self._lane
        budget_s = (
            INLINE_WAIT_S - age if request.kind == LookupKind.INLINE else lane.lookup_timeout_s
        )
        lookups = [
            asyncio.ensure_future(self._within(self._in_turn(request.user_id, url), budget_s))
            for url in request.urls
        ]
        try:
            if request.kind == LookupKind.MESSAGE and request.placeholders is None:
                await asyncio.wait(
                    lookups, timeout=max(lane.placeholder_grace_s, lane.placeholder_after_s - age)
                )
                slow = [index for index, lookup in enumerate(lookups) if not lookup.done()]
                if slow:
                    request.placeholders = await lane.replies.placeholders(request, slow)
                    await lane.requests.set_placeholders(
                        request.id, lane.owner, request.placeholders
                    )
                    logger.info("lookup %s: %d placeholder(s) recorded", request.id, len(slow))
            return list(await asyncio.gather(*lookups))
        finally:
            for lookup in lookups:
                lookup.cancel()

    @staticmethod
    async def _within(lookup: Awaitable[Outcome], budget_s: float) -> Outcome | None:
        try:
            async with asyncio.timeout(max(0.0, budget_s)):
                return await lookup
        except TimeoutError:
            return None

    async def _in_turn(self, user_id: uuid.UUID | None, url: str) -> Outcome:
        """The link's outcome, looked up when its user's turn comes (`links_per_user`)."""
        async with self._turns.of(user_id):
            return await self._shared(url)

    def _shared(self, url: str) -> Awaitable[Outcome]:
        """The link's outcome; requests of this process for one link share one waiter."""
        key = self._lane.identity(url)
        waiter = self._waiters.get(key)
        if waiter is None:
            waiter = asyncio.create_task(self._meet(key, url), name=f"lookup {url[:80]}")
            self._waiters[key] = waiter
            waiter.add_done_callback(lambda _: self._waiters.pop(key, None))
            waiter.add_done_callback(_retrieve)
        else:
            metrics.LOOKUPS_SHARED.inc()
        return asyncio.shield(waiter)

    async def _meet(self, key: str, url: str) -> Outcome:
        """Look the link up, or wait for the worker that does (see `SharedLookups`)."""
        lane = self._lane
        since: float | None = None
        pause_s = _POLL_FIRST_S
        while True:
            board = await lane.shared.take(key, lane.owner, lane.lease_s, since)
            if isinstance(board, Taken):
                return await self._run(key, url)
            if isinstance(board, Answered):
                metrics.LOOKUPS_SHARED.inc()
                logger.info("%s: answered by a shared lookup", url)
                return board.outcome
            if since is None:
                since = await lane.shared.now()
            await asyncio.sleep(pause_s)
            pause_s = min(_POLL_MOST_S, pause_s * 1.5)

    async def _run(self, key: str, url: str) -> Outcome:
        lane = self._lane
        renewing = asyncio.create_task(
            _every(lane.lease_s / 3, lambda: lane.shared.renew(key, lane.owner, lane.lease_s))
        )
        started = time.monotonic()
        try:
            outcome = await lane.find(url)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(lane.shared.give_up(key, lane.owner))
            raise
        finally:
            renewing.cancel()
        metrics.LOOKUP_SECONDS.labels(outcome=_label(outcome)).observe(time.monotonic() - started)
        await lane.shared.finish(key, lane.owner, outcome, failed=isinstance(outcome, Refused))
        return outcome

    async def _renew(self, request_id: uuid.UUID) -> None:
        lane = self._lane
        await _every(
            lane.lease_s / 3, lambda: lane.requests.renew(request_id, lane.owner, lane.lease_s)
        )


class _Turns:
    """Per user, a semaphore of `size` places, kept only while someone holds or waits."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._held: dict[uuid.UUID, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def of(self, user_id: uuid.UUID | None) -> AsyncIterator[None]:
        if user_id is None:  # nobody's: no one to share with
            yield
            return
        semaphore, users = self._held.get(user_id, (asyncio.Semaphore(self._size), 0))
        self._held[user_id] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._held[user_id]
            if users == 1:
                del self._held[user_id]
            else:
                self._held[user_id] = (semaphore, users - 1)


async def _every(interval_s: float, action: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run `action` every `interval_s` until cancelled; a failure is logged, not fatal."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await action()
        except Exception:
            logger.warning("renewing a lookup's lease failed", exc_info=True)


def _label(outcome: Outcome) -> str:
    """The `outcome` label of `mediabot_lookup_seconds`: found, refused (the site or the
    rules say no), pushed_back (the site wants a login or suspects a bot), timeout, failed
    (a fault of ours)."""
    if isinstance(outcome, Found):
        return "found"
    if not outcome.error:
        return "failed"
    if outcome.error == StalledError.__name__:
        return "timeout"
    if isinstance(rebuild(outcome.error, "", {}, ""), SitePushBackError):
        return "pushed_back"
    return "refused"


def _retrieve(task: asyncio.Task[Outcome]) -> None:
    """Mark a failed waiter's exception as seen: every caller may have given up on it."""
    if not task.cancelled():
        task.exception()
