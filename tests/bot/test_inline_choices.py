"""The use case behind chosen inline results and inline parts, on fakes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from mediabot.bot import texts
from mediabot.bot.usecases.inline import InlineChoices
from mediabot.db.models import FilePart, RequestRow
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.inline import InlineChoice
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Offer

USER = uuid.uuid4()
CHAT = uuid.uuid4()


def _offer(**fields: object) -> RequestRow:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "requested_by_id": USER,
        "state": RequestState.OFFERED,
        "offer": Offer(heights=(360,), audio=True),
    }
    values.update(fields)
    return RequestRow(**values)


@dataclass
class FakeRecords:
    files: dict[uuid.UUID, RequestRow] = field(default_factory=dict)
    refused: str | None = None
    full: bool = False
    queued: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    async def offer(self, offer_id: uuid.UUID) -> RequestRow | None:
        return self.files.get(offer_id)

    async def delivered(self, request_id: uuid.UUID) -> RequestRow | None:
        return self.files.get(request_id)

    async def refusal(self, user_row_id: uuid.UUID) -> str | None:
        return self.refused

    async def queue_choice(
        self, choice: InlineChoice, place: str, user_row_id: uuid.UUID, max_active: int
    ) -> bool | None:
        if self.full:
            return False
        if any(offer_id == choice.offer_id for offer_id, _ in self.queued):
            return None
        self.queued.append((choice.offer_id, place))
        return True

    async def again(
        self, delivered: RequestRow, chat_row_id: uuid.UUID, user_row_id: uuid.UUID
    ) -> uuid.UUID:
        return uuid.uuid4()


@dataclass
class FakeLane:
    published: list[Job] = field(default_factory=list)

    async def __call__(self, job: Job) -> bool:
        self.published.append(job)
        return True


def _choices(records: FakeRecords) -> tuple[InlineChoices, FakeLane, FakeLane]:
    main, cached = FakeLane(), FakeLane()
    return InlineChoices(records, main, cached, max_active_requests=3), main, cached


async def test_a_chosen_result_is_queued_once_into_its_inline_message() -> None:
    offer = _offer()
    records = FakeRecords({offer.id: offer})
    choices, main, _ = _choices(records)
    choice = InlineChoice(offer.id, MediaKind.VIDEO, 360)
    assert await choices.chosen(USER, choice, "place-1") is None
    assert await choices.chosen(USER, choice, "place-1") is None  # the same update again
    assert records.queued == [(offer.id, "place-1")]
    assert main.published == [Job(offer.id)]


async def test_someone_elses_or_a_missing_choice_is_not_available() -> None:
    offer = _offer(requested_by_id=uuid.uuid4())
    choices, main, _ = _choices(FakeRecords({offer.id: offer}))
    assert await choices.chosen(USER, InlineChoice(offer.id, MediaKind.AUDIO), "p") == (
        texts.not_available()
    )
    mine = _offer()
    choices, main, _ = _choices(FakeRecords({mine.id: mine}))
    assert await choices.chosen(USER, InlineChoice(mine.id, MediaKind.VIDEO, 1080), "p") == (
        texts.not_available()
    )
    assert main.published == []


async def test_limits_and_a_full_stack_are_told_in_the_inline_message() -> None:
    offer = _offer()
    choice = InlineChoice(offer.id, MediaKind.AUDIO)
    choices, main, _ = _choices(FakeRecords({offer.id: offer}, refused="the hourly limit"))
    assert await choices.chosen(USER, choice, "p") == "the hourly limit"
    choices, main, _ = _choices(FakeRecords({offer.id: offer}, full=True))
    assert await choices.chosen(USER, choice, "p") == texts.stack_full_alert(3)
    assert main.published == []


async def test_only_the_chooser_pulls_the_parts_through_the_cached_lane() -> None:
    delivered = _offer(
        state=RequestState.DELIVERED,
        inline_message_id="place",
        parts=[FilePart(kind=MediaKind.VIDEO, telegram_file_id="f1", index=0)],
    )
    records = FakeRecords({delivered.id: delivered})
    choices, main, cached = _choices(records)
    assert await choices.parts(delivered.id, CHAT, USER) == texts.inline_sending_parts()
    assert len(cached.published) == 1 and main.published == []
    assert await choices.parts(delivered.id, CHAT, uuid.uuid4()) == texts.not_available()
    assert await choices.parts(None, CHAT, USER) == texts.not_available()
    assert len(cached.published) == 1
