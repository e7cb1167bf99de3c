"""In-memory fakes of the worker's ports: no database, no aiogram, no network."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Unpack, cast

from mediabot.domain.enums import DownloadPhase, MediaKind, Provider, RequestState
from mediabot.domain.jobs import Handback
from mediabot.domain.media import (
    DownloadProgress,
    DownloadResult,
    MediaItem,
    Progress,
    ProgressCallback,
)
from mediabot.domain.offer import Offer
from mediabot.domain.playlist import PlaylistTally
from mediabot.domain.preferences import DeliveryForm
from mediabot.downloaders.streams import StreamPlan
from mediabot.media.sources import SplitSource
from mediabot.senders.base import PartCallback, ResumePoint, SendTarget, SentPart
from mediabot.senders.cached import CachedPart
from mediabot.telegram.flood import FloodWait
from mediabot.worker.pipeline import Pipeline, PipelineParts
from mediabot.worker.ports import Downloader, Ports, Sender, Status
from mediabot.worker.progress import describe_upload
from mediabot.worker.request import CachedDelivery, Claim, Request
from mediabot.worker.steps.context import JobContext


def make_request(**changes: Any) -> Request:
    request = Request(
        id=uuid.uuid4(),
        chat_id=uuid.uuid4(),
        chat_telegram_id=42,
        chat_blocked=False,
        kind=MediaKind.AUDIO,
        resolution=None,
        media_key="generic:https://example.com/a.m4a",
        url="https://example.com/a.m4a",
        title="A song",
        offer=None,
        status_message_id=7,
    )
    return replace(request, **changes)


def sent_part(index: int, total: int = 1, end_s: float | None = None) -> SentPart:
    return SentPart(
        index=index,
        total=total,
        kind=MediaKind.AUDIO,
        file_id=f"file-{index}",
        file_unique_id=f"unique-{index}",
        message_id=100 + index,
        size_bytes=1000,
        start_s=None if end_s is None else end_s - 10,
        end_s=end_s,
    )


def download_result(title: str = "Fetched") -> DownloadResult:
    return DownloadResult(
        items=(MediaItem(Path("a.m4a"), MediaKind.AUDIO, 1234),),
        kind=MediaKind.AUDIO,
        provider=Provider.GENERIC,
        media_key="generic:x",
        source_url="https://example.com/a.m4a",
        title=title,
    )


def stream_plan(estimated_bytes: int | None) -> StreamPlan:
    return StreamPlan(
        source=cast(SplitSource, object()),
        provider=Provider.GENERIC,
        media_key="generic:x",
        source_url="https://example.com/a.m4a",
        title="Streamed",
        estimated_bytes=estimated_bytes,
    )


@dataclass
class FakeRequests:
    """`RequestsStore` in memory; `held` False plays a lost lease."""

    states: dict[uuid.UUID, RequestState] = field(default_factory=dict)
    values: dict[uuid.UUID, dict[str, object]] = field(default_factory=dict)
    history: list[RequestState] = field(default_factory=list)
    parts: dict[uuid.UUID, list[SentPart]] = field(default_factory=dict)
    claim_outcome: Claim = field(default_factory=lambda: Claim(False))
    delivered: CachedDelivery | None = None
    twin_polls: int = 0
    """How many more calls of `being_fetched` answer True."""
    held: bool = True
    released: list[tuple[uuid.UUID, bool]] = field(default_factory=list)
    dropped: list[uuid.UUID] = field(default_factory=list)
    ended_chats: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    given_up: dict[uuid.UUID, Request] = field(default_factory=dict)
    progress: dict[uuid.UUID, Progress] = field(default_factory=dict)
    """The last progress recorded with each lease renewal."""
    tallies: list[PlaylistTally] = field(default_factory=list)
    """What `playlist_tally` answers, one per call."""
    playlist_ended: bool = False
    """Whether the playlist has ended: edits of its status refused, `end_playlist` None."""
    settles_in: float = 0.0
    """What `end_playlist` answers when it ends the playlist."""

    async def claim(self, request_id: uuid.UUID, *, fair: bool = True) -> Claim:
        return self.claim_outcome

    async def release(self, request_id: uuid.UUID, **how: Unpack[Handback]) -> None:
        self.released.append((request_id, how.get("expire", False)))

    async def renew(self, request_id: uuid.UUID, progress: Progress | None = None) -> bool:
        if progress is not None:
            self.progress[request_id] = progress
        state = self.states.get(request_id)
        return self.held and state is not None and not state.is_final

    async def state_of(self, request_id: uuid.UUID) -> RequestState | None:
        return self.states.get(request_id)

    async def set_state(self, request_id: uuid.UUID, state: RequestState, **values: object) -> bool:
        current = self.states.get(request_id)
        if not self.held or current is None or current.is_final:
            return False
        self.states[request_id] = state
        self.history.append(state)
        self.values.setdefault(request_id, {}).update(values)
        return True

    async def give_up(self, request_id: uuid.UUID, reason: str) -> Request | None:
        current = self.states.get(request_id)
        if current is None or current.is_final:
            return None
        self.states[request_id] = RequestState.FAILED
        self.values.setdefault(request_id, {})["error_reason"] = reason
        return self.given_up.get(request_id)

    async def end_chat(self, chat_id: uuid.UUID, reason: str) -> int:
        self.ended_chats.append((chat_id, reason))
        return 1

    async def find_delivered(self, request: Request) -> CachedDelivery | None:
        return self.delivered

    async def drop_parts(self, *request_ids: uuid.UUID) -> None:
        for request_id in request_ids:
            self.dropped.append(request_id)
            self.parts.pop(request_id, None)
        if self.delivered is not None and self.delivered.id in request_ids:
            self.delivered = None

    async def being_fetched(self, request_id: uuid.UUID, *, ordered: bool = True) -> bool:
        self.twin_polls -= 1
        return self.twin_polls >= 0

    async def last_part(self, request_id: uuid.UUID) -> tuple[int, float | None] | None:
        parts = self.parts.get(request_id)
        return (parts[-1].index, parts[-1].end_s) if parts else None

    async def add_part(self, request_id: uuid.UUID, part: SentPart) -> None:
        self.parts.setdefault(request_id, []).append(part)

    async def set_resolution(self, request_id: uuid.UUID, height: int) -> bool:
        current = self.states.get(request_id)
        if not self.held or current is None or current.is_final:
            return False
        self.values.setdefault(request_id, {})["resolution"] = height
        return True

    async def playlist_tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        return self.tallies.pop(0) if len(self.tallies) > 1 else self.tallies[0]

    async def allow_status_edit(self, playlist_id: uuid.UUID, window_s: float) -> bool:
        return not self.playlist_ended

    async def end_playlist(self, playlist_id: uuid.UUID) -> float | None:
        if self.playlist_ended:
            return None
        self.playlist_ended = True
        return self.settles_in


@dataclass
class FakeStatus:
    """`Status` that remembers every text."""

    shown: list[str] = field(default_factory=list)
    progress: Progress = field(default_factory=Progress)
    final: str | None = None
    removed: bool = False
    closed: bool = False
    ended: bool = False
    message_for_file: int | None = None

    def show(self, text: str) -> None:
        self.shown.append(text)

    def on_download(self, progress: DownloadProgress) -> None:
        self.shown.append(f"download {progress.phase}")

    def show_upload(self, index: int, total: int | None) -> None:
        if total is not None:
            self.progress = Progress(parts_total=total)
        self.shown.append(describe_upload(index, total))

    def on_flood_wait(self, wait: FloodWait) -> None:
        self.shown.append("flood wait")

    async def finish(self, text: str, *, ended: bool = False) -> None:
        self.final = text
        self.ended = ended

    async def remove(self) -> None:
        self.removed = True

    async def close(self) -> None:
        self.closed = True


@dataclass
class FakeStatuses:
    opened: list[tuple[Request, bool, FakeStatus]] = field(default_factory=list)

    def open(self, request: Request, *, buttons: bool = False) -> Status:
        status = FakeStatus()
        self.opened.append((request, buttons, status))
        return status


@dataclass
class FakeSender:
    """Delivers `parts` (each through `on_part`), then raises `error` if any."""

    parts: Sequence[SentPart]
    on_part: PartCallback
    error: Exception | None = None

    async def send(self) -> Sequence[SentPart]:
        for part in self.parts:
            await self.on_part(part)
        if self.error is not None:
            raise self.error
        return list(self.parts)


@dataclass
class FakeSenders:
    """`Senders` whose deliveries are scripted: (parts, error) per kind of delivery."""

    cached_script: tuple[Sequence[SentPart], Exception | None] = ((), None)
    fresh_script: tuple[Sequence[SentPart], Exception | None] = ((), None)
    stream_script: tuple[Sequence[SentPart], Exception | None] = ((), None)
    calls: list[tuple[str, ResumePoint | None]] = field(default_factory=list)
    cached_parts: list[Sequence[CachedPart]] = field(default_factory=list)
    targets: list[SendTarget] = field(default_factory=list)
    forms: list[DeliveryForm] = field(default_factory=list)
    """The form each delivery was asked in, in the order of `calls`."""
    into: list[int | None] = field(default_factory=list)
    """The message each cached delivery was offered to take the place of."""
    held: float = 0.0
    """How long Telegram holds the chat back (`held_s`)."""

    async def held_s(self, chat_id: int) -> float:
        return self.held

    def cached(
        self,
        target: SendTarget,
        parts: Sequence[CachedPart],
        on_part: PartCallback,
        form: DeliveryForm = DeliveryForm.MEDIA,
        into: int | None = None,
    ) -> Sender:
        self.calls.append(("cached", None))
        self.into.append(into)
        self.forms.append(form)
        self.cached_parts.append(parts)
        self.targets.append(target)
        return FakeSender(self.cached_script[0], on_part, self.cached_script[1])

    def fresh(
        self,
        result: DownloadResult,
        target: SendTarget,
        on_part: PartCallback,
        resume: ResumePoint | None,
        form: DeliveryForm = DeliveryForm.MEDIA,
    ) -> Sender:
        self.calls.append(("fresh", resume))
        self.forms.append(form)
        self.targets.append(target)
        return FakeSender(self.fresh_script[0], on_part, self.fresh_script[1])

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
        self.calls.append(("stream", resume))
        self.forms.append(form)
        self.targets.append(target)
        return FakeSender(self.stream_script[0], on_part, self.stream_script[1])


@dataclass
class FakeDownloader:
    plan: StreamPlan | None = None
    result: DownloadResult | Exception = field(default_factory=download_result)
    downloads: int = 0
    reused_lookup: bool = False

    async def locate_streams(self, cover_dir: Path | None = None) -> StreamPlan | None:
        return self.plan

    async def download(
        self, dest: Path, progress: ProgressCallback | None = None
    ) -> DownloadResult:
        self.downloads += 1
        if progress is not None:
            progress(DownloadProgress(DownloadPhase.DOWNLOADING))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@dataclass
class FakeDownloaders:
    downloader: FakeDownloader = field(default_factory=FakeDownloader)
    made: list[tuple[str, int | None, MediaKind]] = field(default_factory=list)
    available: tuple[int, ...] | Exception = (360, 720)
    """What `heights` finds (or raises)."""
    looked_up: list[str] = field(default_factory=list)
    found: list[Mapping[str, Any] | None] = field(default_factory=list)
    """What each downloader made was given of the offer's lookup."""
    later: list[FakeDownloader] = field(default_factory=list)
    """Downloaders handed out after the first, in turn (then `downloader` again)."""
    max_clip_s: float | None = None
    """The duration limit a clip meets (None: none)."""

    def __call__(self, request: Request, found: Mapping[str, Any] | None = None) -> Downloader:
        self.made.append((request.url, request.resolution, request.kind))
        self.found.append(found)
        if len(self.made) > 1 and self.later:
            return self.later.pop(0)
        return self.downloader

    async def heights(self, url: str) -> tuple[int, ...]:
        self.looked_up.append(url)
        if isinstance(self.available, Exception):
            raise self.available
        return self.available

    def for_clip(self, request: Request, found: Mapping[str, Any] | None = None) -> Downloader:
        return self(request, found)

    def clip_over_limit(self, clip_s: float) -> bool:
        return self.max_clip_s is not None and clip_s > self.max_clip_s


@dataclass
class World:
    """One request and fakes of every port, ready for a step."""

    request: Request = field(default_factory=make_request)
    requests: FakeRequests = field(default_factory=FakeRequests)
    status: FakeStatus = field(default_factory=FakeStatus)
    senders: FakeSenders = field(default_factory=FakeSenders)
    downloaders: FakeDownloaders = field(default_factory=FakeDownloaders)
    statuses: FakeStatuses = field(default_factory=FakeStatuses)

    def __post_init__(self) -> None:
        self.requests.states.setdefault(self.request.id, RequestState.QUEUED)
        self.job = JobContext(self.request, self.requests, self.status)

    def ports(self) -> Ports:
        return Ports(self.requests, self.senders, self.downloaders, self.statuses)

    def pipeline(self, work_dir: Path, bot: Any = None, **extra: Any) -> Pipeline:
        """A pipeline over these fakes that claims this world's request (`extra`: more
        `PipelineParts`)."""
        parts = PipelineParts(bot=bot, work_dir=work_dir, upload_limit_bytes=1000, **extra)
        self.requests.claim_outcome = Claim(True, request=self.request)
        return Pipeline(parts, self.ports())

    @property
    def state(self) -> RequestState:
        return self.requests.states[self.request.id]

    def offer_of(self, estimated: int | None) -> Offer:
        return Offer(audio=True, audio_size=estimated)
