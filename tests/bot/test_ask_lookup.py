"""The use case behind the links and inline handlers: record, publish, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from mediabot.bot.usecases.lookups import Asked, AskLookup, LinksPlace
from mediabot.db.models import LookupRequest, RequestRow
from mediabot.domain.clips import Clip
from mediabot.domain.jobs import Job
from mediabot.domain.lookups import LookupKind

PLACE = LinksPlace(
    chat_row_id=uuid.uuid4(),
    user_row_id=uuid.uuid4(),
    telegram_chat_id=-100_1,
    message_id=42,
    thread_id=7,
    in_group=True,
    locale="ru",
)


@dataclass
class FakeRecords:
    recorded: list[LookupRequest] = field(default_factory=list)
    delivered: dict[str, list[RequestRow]] = field(default_factory=dict)

    async def record(self, request: LookupRequest) -> uuid.UUID:
        request.id = uuid.uuid4()
        self.recorded.append(request)
        return request.id

    async def delivered_for_url(self, url: str) -> Sequence[RequestRow]:
        return self.delivered.get(url, [])

    async def last_asked(self, telegram_chat_id: int, message_id: int) -> Asked | None:
        asked = [
            request
            for request in self.recorded
            if (request.telegram_chat_id, request.message_id) == (telegram_chat_id, message_id)
        ]
        return Asked.of_request(asked[-1]) if asked else None


@dataclass
class FakeLane:
    published: list[Job] = field(default_factory=list)
    up: bool = True

    async def __call__(self, job: Job) -> bool:
        if self.up:
            self.published.append(job)
        return self.up


async def test_a_messages_links_are_recorded_with_where_their_answers_go_and_published() -> None:
    records, lane = FakeRecords(), FakeLane()
    request_id = await AskLookup(records, lane).for_links(PLACE, ["https://a.example/1"])
    [request] = records.recorded
    assert lane.published == [Job(request_id)]
    assert request.kind == LookupKind.MESSAGE
    assert (request.telegram_chat_id, request.message_id, request.message_thread_id) == (
        -100_1,
        42,
        7,
    )
    assert request.in_group and request.locale == "ru"
    assert request.urls == ["https://a.example/1"]


async def test_a_request_the_broker_did_not_take_stays_recorded_for_the_sweep() -> None:
    records, lane = FakeRecords(), FakeLane(up=False)
    await AskLookup(records, lane).for_links(PLACE, ["https://a.example/1"])
    assert len(records.recorded) == 1 and lane.published == []


async def test_an_inline_query_for_a_delivered_link_is_answered_without_a_lookup() -> None:
    delivered = RequestRow(request_url="https://a.example/1")
    records = FakeRecords(delivered={"https://a.example/1": [delivered]})
    lane = FakeLane()
    ask = AskLookup(records, lane)
    assert await ask.for_inline_query(uuid.uuid4(), "q1", "https://a.example/1", "en") == [
        delivered
    ]
    assert records.recorded == [] and lane.published == []

    assert await ask.for_inline_query(uuid.uuid4(), "q2", "https://a.example/2", "en") == []
    [request] = records.recorded
    assert (request.kind, request.inline_query_id, request.urls) == (
        LookupKind.INLINE,
        "q2",
        ["https://a.example/2"],
    )
    assert lane.published == [Job(request.id)]


async def test_a_links_clip_is_recorded_beside_it() -> None:
    records, lane = FakeRecords(), FakeLane()
    urls = ["https://a.example/1", "https://a.example/2"]
    await AskLookup(records, lane).for_links(PLACE, urls, [None, Clip(80, 125)])
    [request] = records.recorded
    assert request.clips == [None, "80-125"]


async def test_a_message_asking_no_clip_records_none() -> None:
    records, lane = FakeRecords(), FakeLane()
    await AskLookup(records, lane).for_links(PLACE, ["https://a.example/1"], [None])
    assert records.recorded[0].clips is None


async def test_an_edit_is_asked_for_only_when_its_links_or_clips_changed() -> None:
    records, lane = FakeRecords(), FakeLane()
    ask = AskLookup(records, lane)
    first = "https://a.example/1"
    assert await ask.for_edited(PLACE, [first]) is not None  # nothing asked before: asked
    assert await ask.for_edited(PLACE, [first], [None]) is None
    corrected = await ask.for_edited(PLACE, ["https://a.example/2"])
    assert corrected is not None and records.recorded[-1].urls == ["https://a.example/2"]
    assert await ask.for_edited(PLACE, ["https://a.example/2"], [Clip(5, 9)]) is not None
    assert await ask.for_edited(PLACE, ["https://a.example/2"], [Clip(5, 9)]) is None
    assert await ask.for_edited(PLACE, [first]) is not None  # back to the first: differs
    assert len(records.recorded) == 4 and len(lane.published) == 4


async def test_subtitles_are_asked_for_the_offers_link_and_clip() -> None:
    records, lane = FakeRecords(), FakeLane()
    await AskLookup(records, lane).for_subtitles(PLACE, "https://a.example/1", Clip(5, 9))
    [request] = records.recorded
    assert request.kind == LookupKind.SUBTITLES
    assert (request.urls, request.clips) == (["https://a.example/1"], ["5-9"])
    assert request.message_id == PLACE.message_id and len(lane.published) == 1
