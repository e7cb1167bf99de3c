"""A link's offer chosen by its owner's default (`worker/default_choice.py`), on a real
database: the pick queued in the owner's form and marked, its lane, the limits that leave
the choice to a press; and a delivered request a default chose keeping its status as a line
with its "⚙ Other choices" (the worker's pipeline against the fake Bot API)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import update

from mediabot.db.models import FilePart, Playlist, RequestRow
from mediabot.db.repositories import (
    ChatRepository,
    PlaylistRepository,
    ProviderRepository,
    RequestRows,
    TelegramChat,
    TelegramUser,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.media import MediaOptions, Resolution
from mediabot.domain.offer import Offer, Variant
from mediabot.domain.playlist import PlaylistEntry
from mediabot.domain.preferences import DefaultChoice, DeliveryForm
from mediabot.worker.default_choice import ChosenByDefault, DefaultChoices, ItemsChosen
from tests.support.fake_telegram import ApiCall
from tests.support.media import MediaSources
from tests.worker.worker_bench import WorkerBench, new_telegram_id

_OPTIONS = MediaOptions(
    url="https://videos.example/v/1",
    provider=Provider.GENERIC,
    media_key="generic:default-choice",
    title="A video",
    resolutions=(Resolution(360, 1_000), Resolution(720, 3_000), Resolution(1080, 9_000)),
    has_audio=True,
)

_OTHER_CHOICES = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="⚙ Other choices", callback_data="o")]]
)


def _lane() -> tuple[list[Job], Callable[[Job], Awaitable[None]]]:
    published: list[Job] = []

    async def publish(job: Job) -> None:
        published.append(job)

    return published, publish


class _Lanes:
    def __init__(self) -> None:
        self.main, main = _lane()
        self.cached, cached = _lane()
        self.publish = (main, cached)


def _choices(
    bench: WorkerBench, lanes: _Lanes, *, max_active: int = 3, per_hour: int = 20
) -> DefaultChoices:
    main, cached = lanes.publish
    return DefaultChoices(
        bench.sessions, max_active=max_active, per_hour=per_hour, main_lane=main, cached_lane=cached
    )


async def _offer(
    bench: WorkerBench,
    default: DefaultChoice,
    form: DeliveryForm = DeliveryForm.MEDIA,
    *,
    user_id: uuid.UUID | None = None,
    state: RequestState = RequestState.OFFERED,
) -> RequestRow:
    """An offer of `_OPTIONS` to a user (a new one unless `user_id`) with these settings."""
    async with bench.sessions.begin() as session:
        users = UserRepository(session)
        telegram_id = new_telegram_id()
        if user_id is None:
            user_id = await users.upsert(TelegramUser(telegram_id, "Ann"))
        await users.set_preferences(user_id, default=default, form=form)
        chat_id = await ChatRepository(session).upsert(
            TelegramChat(telegram_id, "private"), user_id
        )
        offer = await RequestRows(session).add(
            RequestRow(
                chat_id=chat_id,
                provider_id=await ProviderRepository(session).id_of(Provider.GENERIC),
                requested_by_id=user_id,
                request_url=_OPTIONS.url,
                media_key=_OPTIONS.media_key,
                state=RequestState.OFFERED,
                offer=Offer.of(_OPTIONS),
            )
        )
        if state is not RequestState.OFFERED:
            await RequestRows(session).choose(offer.id, Variant(MediaKind.AUDIO))
            await RequestRows(session).set_state(offer.id, state)
    return offer


async def test_always_ask_chooses_nothing(bench: WorkerBench) -> None:
    lanes = _Lanes()
    offer = await _offer(bench, DefaultChoice.ASK)
    assert await _choices(bench, lanes).choose(offer) is None
    assert (await bench.file(offer.id)).state is RequestState.OFFERED


async def test_a_default_queues_the_best_fitting_height_in_the_owners_form(
    bench: WorkerBench,
) -> None:
    lanes = _Lanes()
    choices = _choices(bench, lanes)
    offer = await _offer(bench, DefaultChoice.UP_TO_720, DeliveryForm.DOCUMENT)
    chosen = await choices.choose(offer)
    assert isinstance(chosen, ChosenByDefault) and not chosen.cached
    row = await bench.file(offer.id)
    assert row.state is RequestState.QUEUED
    assert (row.kind, row.resolution, row.form) == (MediaKind.VIDEO, 720, DeliveryForm.DOCUMENT)
    assert row.chosen_by_default and row.chosen_at is not None
    await choices.publish(chosen)
    assert lanes.main == [Job(offer.id)] and not lanes.cached


async def test_a_file_telegram_has_goes_to_the_cached_lane(bench: WorkerBench) -> None:
    lanes = _Lanes()
    choices = _choices(bench, lanes)
    first = await _offer(bench, DefaultChoice.AUDIO)
    assert await choices.choose(first) is not None
    async with bench.sessions.begin() as session:
        await RequestRows(session).set_state(first.id, RequestState.DELIVERED)
        session.add(
            FilePart(
                file_id=first.id,
                index=0,
                kind=MediaKind.AUDIO,
                telegram_file_id="audio-file-id",
                telegram_file_unique_id="audio-unique-id",
            )
        )
    second = await _offer(bench, DefaultChoice.AUDIO)
    chosen = await choices.choose(second)
    assert isinstance(chosen, ChosenByDefault) and chosen.cached
    await choices.publish(chosen)
    assert lanes.cached == [Job(second.id)] and lanes.main == []
    # The same media asked as a document is not what Telegram has.
    third = await _offer(bench, DefaultChoice.AUDIO, DeliveryForm.DOCUMENT)
    chosen = await choices.choose(third)
    assert isinstance(chosen, ChosenByDefault) and not chosen.cached


async def test_a_full_stack_or_the_hourly_limit_leaves_the_choice_to_a_press(
    bench: WorkerBench,
) -> None:
    lanes = _Lanes()
    busy = await _offer(bench, DefaultChoice.AUDIO, state=RequestState.QUEUED)
    owner = busy.requested_by_id
    offer = await _offer(bench, DefaultChoice.UP_TO_720, user_id=owner)
    assert await _choices(bench, lanes, max_active=1).choose(offer) is None
    assert (await bench.file(offer.id)).state is RequestState.OFFERED
    assert await _choices(bench, lanes, per_hour=1).choose(offer) is None
    assert (await bench.file(offer.id)).state is RequestState.OFFERED
    # Room in both: chosen.
    assert await _choices(bench, lanes, max_active=2, per_hour=2).choose(offer) is not None


async def _playlist(bench: WorkerBench, default: DefaultChoice) -> Playlist:
    """A playlist's offer of three items, shown on a message, to a new user with this
    default and one request chosen already."""
    offer = await _offer(bench, default, state=RequestState.QUEUED)
    entries = [
        PlaylistEntry(
            url=f"https://videos.example/v/{n}",
            provider=Provider.GENERIC,
            media_key=f"generic:item{n}",
        )
        for n in range(3)
    ]
    async with bench.sessions.begin() as session:
        return await PlaylistRepository(session).add(
            Playlist(
                chat_id=offer.chat_id,
                requested_by_id=offer.requested_by_id,
                request_url="https://videos.example/list",
                state=RequestState.OFFERED,
                entries=entries,
                total_count=3,
                status_message_id=42,
            )
        )


async def test_a_playlist_default_queues_every_item_in_turn_within_the_limits(
    bench: WorkerBench,
) -> None:
    lanes = _Lanes()
    asked = await _playlist(bench, DefaultChoice.ASK)
    assert await _choices(bench, lanes).choose(asked) is None

    playlist = await _playlist(bench, DefaultChoice.UP_TO_480)
    assert await _choices(bench, lanes, per_hour=1).choose(playlist) is None
    choices = _choices(bench, lanes)
    chosen = await choices.choose(playlist)
    assert isinstance(chosen, ItemsChosen) and len(chosen.items) == 3
    items = chosen.items
    for item in items:
        row = await bench.file(item)
        assert row.state is RequestState.QUEUED
        assert (row.kind, row.resolution, row.playlist_id) == (MediaKind.VIDEO, 480, playlist.id)
        assert row.status_message_id == 42
    await choices.publish(chosen)
    assert lanes.main == [Job(item) for item in items]
    # Chosen once: the same offer again changes nothing.
    assert await choices.choose(playlist) is None


async def _chosen_by_default(bench: WorkerBench, url: str) -> uuid.UUID:
    """A queued request of `url` (audio), as a default chose it."""
    request_id = await bench.request(url)
    async with bench.sessions.begin() as session:
        await session.execute(
            update(RequestRow).where(RequestRow.id == request_id).values(chosen_by_default=True)
        )
    return request_id


async def test_a_delivered_default_keeps_its_status_as_a_line_with_other_choices(
    bench: WorkerBench, media: MediaSources
) -> None:
    pipeline = bench.pipeline(delivered_markup=lambda _request_id: _OTHER_CHOICES)
    by_default = await _chosen_by_default(bench, media.audio_m4a)
    pressed = await bench.request(media.audio_m4a)

    for request_id in (by_default, pressed):
        await pipeline.handle(Job(request_id))
        assert (await bench.file(request_id)).state is RequestState.DELIVERED

    def shown_on(file: RequestRow) -> tuple[str, str]:
        return str(file.chat.telegram_id), str(file.status_message_id)

    def where(call: ApiCall) -> tuple[str, str]:
        return call.params.get("chat_id", ""), call.params.get("message_id", "")

    kept = shown_on(await bench.file(by_default))
    edits = [call for call in bench.telegram.calls_of("editMessageText") if where(call) == kept]
    assert edits[-1].params["text"] == "✅ Audio · your default"
    markup = json.loads(edits[-1].params["reply_markup"])
    assert markup["inline_keyboard"][0][0]["text"] == "⚙ Other choices"
    # The pressed one's status gave way to the file (sent from the cache: it became it).
    edited = [where(call) for call in bench.telegram.calls_of("editMessageMedia") if call.ok]
    assert edited == [shown_on(await bench.file(pressed))]
    assert not bench.telegram.calls_of("deleteMessage")


async def test_a_default_that_failed_keeps_other_choices_under_its_reason(
    bench: WorkerBench, media: MediaSources
) -> None:
    pipeline = bench.pipeline(delivered_markup=lambda _request_id: _OTHER_CHOICES)
    request_id = await _chosen_by_default(bench, media.audio_m4a)
    await pipeline.on_dead_letter(Job(request_id), "broken")
    assert (await bench.file(request_id)).state is RequestState.FAILED
    [edit] = bench.telegram.calls_of("editMessageText")
    assert edit.params["text"].startswith("❌")
    assert json.loads(edit.params["reply_markup"])["inline_keyboard"][0][0]["text"] == (
        "⚙ Other choices"
    )
