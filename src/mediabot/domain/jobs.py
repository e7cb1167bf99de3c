"""The message that travels through the queue: a pointer to a request, nothing more.

The database is the truth about a request; the job only says which one to work on and
how many times it has been tried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypedDict
from uuid import UUID


class InvalidJobError(ValueError):
    """A queue message that is not a job of ours."""


@dataclass(frozen=True, slots=True)
class Job:
    request_id: UUID
    attempt: int = 1

    def encode(self) -> bytes:
        return json.dumps({"request_id": str(self.request_id), "attempt": self.attempt}).encode()

    @classmethod
    def decode(cls, body: bytes) -> Job:
        try:
            data = json.loads(body)
            return cls(request_id=UUID(data["request_id"]), attempt=int(data.get("attempt", 1)))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidJobError(f"not a job: {body[:80]!r}") from exc

    def next_attempt(self) -> Job:
        return Job(request_id=self.request_id, attempt=self.attempt + 1)


class Handback(TypedDict, total=False):
    """How a worker gives a request's lease back; each flag False unless given.

    By default the queue brings the request back (a retry after its delay). `expire`: the
    lease is left expired instead, so recovery publishes the request again at once (work
    handed back on shutdown, whose redelivered copy may already have been skipped by a
    worker that saw the lease still held); not the request's fault, so its attempt is given
    back too. `refund`: the attempt is given back without expiring (a job that waits for its
    turn, e.g. for free disk space). `requeue`: a request that moved on (downloading,
    uploading) goes back to the queued state, no longer a twin being fetched.
    """

    expire: bool
    refund: bool
    requeue: bool
