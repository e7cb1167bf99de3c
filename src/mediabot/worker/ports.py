"""The ports the worker's steps depend on; `worker.adapters` implements them.

Each is a narrow `Protocol`, so a step's unit test hands it an in-memory fake: no
database, no aiogram, no network.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Unpack

from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Handback
from mediabot.domain.media import DownloadProgress, DownloadResult, Progress, ProgressCallback
from mediabot.domain.playlist import PlaylistTally
from mediabot.domain.preferences import DeliveryForm
from mediabot.downloaders.streams import StreamPlan
from mediabot.senders.base import PartCallback, ResumePoint, SendTarget, SentPart
from mediabot.senders.cached import CachedPart
from mediabot.telegram.flood import FloodWait
from mediabot.worker.request import CachedDelivery, Claim, Request


class RequestsStore(Protocol):
    """The requests' truth (the database): claims, states, parts."""

    async def claim(self, request_id: uuid.UUID, *, fair: bool = True) -> Claim:
        """Take the lease: on the fairest request (fair turns), or on `request_id` alone."""
        ...

    async def release(self, request_id: uuid.UUID, **how: Unpack[Handback]) -> None:
        """Give the lease back, as `how` says."""
        ...

    async def renew(self, request_id: uuid.UUID, progress: Progress | None = None) -> bool:
        """Renew the lease (recording `progress`); False when it is lost or the request ended."""
        ...

    async def state_of(self, request_id: uuid.UUID) -> RequestState | None: ...

    async def set_state(self, request_id: uuid.UUID, state: RequestState, **values: object) -> bool:
        """Move a request this worker holds; False when it left this worker's hands."""
        ...

    async def give_up(self, request_id: uuid.UUID, reason: str) -> Request | None:
        """Mark a request failed whoever holds it; the request when that changed it."""
        ...

    async def end_chat(self, chat_id: uuid.UUID, reason: str) -> int:
        """Mark a chat blocked and fail its pending requests; how many ended."""
        ...

    async def find_delivered(self, request: Request) -> CachedDelivery | None: ...

    async def drop_parts(self, *request_ids: uuid.UUID) -> None: ...

    async def being_fetched(self, request_id: uuid.UUID, *, ordered: bool = True) -> bool:
        """Whether a twin (same media, kind, resolution) started fetching first (not
        `ordered`: is being fetched at all)."""
        ...

    async def last_part(self, request_id: uuid.UUID) -> tuple[int, float | None] | None:
        """The index and end time of the last part delivered, None when none was."""
        ...

    async def add_part(self, request_id: uuid.UUID, part: SentPart) -> None: ...

    async def set_resolution(self, request_id: uuid.UUID, height: int) -> bool:
        """Record the height a playlist item comes at; False when it left this worker."""
        ...

    async def playlist_tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        """Where a playlist's items stand."""
        ...

    async def allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        """Whether the playlist's status message may be edited now, by an edit that lands
        within `window_s` or is dropped; False once the playlist has ended."""
        ...

    async def end_playlist(self, playlist_id: uuid.UUID) -> float | None:
        """Mark the playlist done (every item ended): its last word is this worker's to
        say, after the seconds returned (every edit allowed before has landed or been
        dropped by then). None when it had ended already: the last word is another's."""
        ...


class Status(Protocol):
    """The request's status message in its chat."""

    def show(self, text: str) -> None: ...

    def on_download(self, progress: DownloadProgress) -> None: ...

    def show_upload(self, index: int, total: int | None) -> None: ...

    @property
    def progress(self) -> Progress: ...

    def on_flood_wait(self, wait: FloodWait) -> None: ...

    async def finish(self, text: str, *, ended: bool = False) -> None:
        """Show a last text; `ended`: the request ended with it (failed), so a request
        chosen by default keeps its "⚙ Other choices" under it."""
        ...

    @property
    def message_for_file(self) -> int | None:
        """The status message a delivery's one file may take the place of (it is deleted
        once the file arrives): None when it stays (kept as a line, a playlist's), is an
        inline message, or there is none. A status whose message became the file is
        `close`d, not removed."""
        ...

    async def remove(self) -> None: ...

    async def close(self) -> None: ...


class Sender(Protocol):
    async def send(self) -> Sequence[SentPart]: ...


class Senders(Protocol):
    """Builds the sender of each kind of delivery."""

    async def held_s(self, chat_id: int) -> float:
        """How long Telegram's limits hold messages to `chat_id` back from now (a flood
        wait, a backlog); 0 when one could go now."""
        ...

    def cached(
        self,
        target: SendTarget,
        parts: Sequence[CachedPart],
        on_part: PartCallback,
        form: DeliveryForm = DeliveryForm.MEDIA,
        into: int | None = None,
    ) -> Sender:
        """File ids sent again, in the `form` they were first sent in; one file edits the
        bot's text message `into` into it where Telegram lets it (`CachedSender`)."""
        ...

    def fresh(
        self,
        result: DownloadResult,
        target: SendTarget,
        on_part: PartCallback,
        resume: ResumePoint | None,
        form: DeliveryForm = DeliveryForm.MEDIA,
    ) -> Sender: ...

    def stream(
        self,
        plan: StreamPlan,
        target: SendTarget,
        folder: Path,
        on_part: PartCallback,
        resume: ResumePoint | None,
        form: DeliveryForm = DeliveryForm.MEDIA,
        progress: ProgressCallback | None = None,
        on_fetched: Callable[[], Awaitable[None]] | None = None,
    ) -> Sender:
        """The delivery of `plan` in `form`: one file while it is fetched when it may fit
        (its fetching reported to `progress`, `on_fetched` awaited once it is all
        fetched), else parts cut while it arrives."""
        ...


class Downloader(Protocol):
    reused_lookup: bool
    """Whether it used what the offer's lookup found instead of looking the link up."""

    async def locate_streams(self, cover_dir: Path | None = None) -> StreamPlan | None: ...

    async def download(
        self, dest: Path, progress: ProgressCallback | None = None
    ) -> DownloadResult: ...


class Downloaders(Protocol):
    """Builds the downloader of a request (`resolution` None: no resolution)."""

    def __call__(self, request: Request, found: Mapping[str, Any] | None = None) -> Downloader:
        """The downloader of `request`'s link, kind and resolution; `found`: what the
        offer's lookup found, used instead of a lookup while fresh."""
        ...

    async def heights(self, url: str) -> tuple[int, ...]:
        """The video heights the link offers (a lookup; its `DownloadError`s)."""
        ...

    def for_clip(self, request: Request, found: Mapping[str, Any] | None = None) -> Downloader:
        """The downloader of a clip's source: the duration limit is the clip's to meet
        (`clip_over_limit`), not the whole video's; `found` as for `__call__`."""
        ...

    def clip_over_limit(self, clip_s: float) -> bool:
        """Whether a clip this long is over the duration limit."""
        ...


class Statuses(Protocol):
    """Opens a request's status message (`buttons`: with its cancel button)."""

    def open(self, request: Request, *, buttons: bool = False) -> Status: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything the steps talk to, built once per worker process (or faked in tests)."""

    requests: RequestsStore
    senders: Senders
    downloaders: Downloaders
    statuses: Statuses
