"""Inline mode through the real dispatcher: cached answers without a lookup, offers and
the chosen result queued, forged and oversized result ids, refused users, no storage chat."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import FSInputFile
from sqlalchemy import select

from mediabot.bot import texts
from mediabot.db.models import FilePart, RequestRow
from mediabot.db.repositories import (
    ChatRepository,
    ProviderRepository,
    RequestRows,
    TelegramChat,
    TelegramUser,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.inline import InlineChoice, start_payload
from mediabot.downloaders.errors import UnsupportedLinkError, YouTubeBotCheckError
from tests.bot.conftest import BotBench, options

STORAGE = -100_555
LINK = "https://youtu.be/dQw4w9WgXcQ"
_users = itertools.count(920_000_001)
_update_ids = itertools.count(5_000_000)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"storage_chat_id": STORAGE}


async def _feed(bench: BotBench) -> None:
    """Hand the bot every update the fake Bot API holds (inline queries, chosen results)."""
    for update in await bench.bot.get_updates(timeout=0):
        await bench.dispatcher.feed_update(bench.bot, update)
        await bench.bot.get_updates(offset=update.update_id + 1, timeout=0)
    await bench.lane.settled()


async def _ask(bench: BotBench, user: int, query: str) -> list[dict[str, Any]]:
    query_id = bench.telegram.inject_inline_query(user, query)
    await _feed(bench)
    results = bench.telegram.inline_results(query_id)
    assert results is not None, "every inline query is answered"
    return results


def _hint(bench: BotBench) -> str:
    answer = bench.telegram.calls_of("answerInlineQuery")[-1]
    return str(answer.params.get("button", ""))


async def _choose(bench: BotBench, user: int, result_id: str, inline_message_id: str) -> None:
    update = {
        "update_id": next(_update_ids),
        "chosen_inline_result": {
            "result_id": result_id,
            "from": {"id": user, "is_bot": False, "first_name": "Ann"},
            "query": LINK,
            "inline_message_id": inline_message_id,
        },
    }
    await bench.dispatcher.feed_raw_update(bench.bot, update)


async def _deliver_earlier(bench: BotBench, tmp_path: Path) -> str:
    """A 720p video of LINK delivered before (uploaded to the storage chat); its file id."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(bytes(range(256)) * 64)
    sent = await bench.bot.send_video(STORAGE, FSInputFile(clip), width=1280, height=720)
    assert sent.video is not None
    part = (sent.video.file_id, sent.video.file_unique_id)
    await _delivered(bench, 1, STORAGE, [part], title="Earlier")
    return sent.video.file_id


async def _delivered(
    bench: BotBench, owner: int, chat_id: int, parts: list[tuple[str, str]], **fields: Any
) -> uuid.UUID:
    """A 720p video of LINK requested by `owner` in `chat_id` (the storage chat: chosen
    inline), delivered as `parts` (file id, unique id)."""
    async with bench.sessions() as session:
        user = await UserRepository(session).upsert(TelegramUser(telegram_id=owner, first_name="A"))
        kind = "storage" if chat_id == STORAGE else "private"
        chat = await ChatRepository(session).upsert(
            TelegramChat(telegram_id=chat_id, type=kind, title=None), user
        )
        file = RequestRow(
            chat_id=chat,
            requested_by_id=user,
            provider_id=await ProviderRepository(session).id_of(Provider.YOUTUBE),
            request_url=LINK,
            media_key="youtube:dQw4w9WgXcQ",
            kind=MediaKind.VIDEO,
            resolution=720,
            state=RequestState.DELIVERED,
            **fields,
        )
        await RequestRows(session).add(file)
        for index, (file_id, unique_id) in enumerate(parts):
            await RequestRows(session).add_part(
                file.id,
                FilePart(
                    index=index,
                    kind=MediaKind.VIDEO,
                    telegram_file_id=file_id,
                    telegram_file_unique_id=unique_id,
                ),
            )
        await session.commit()
    return file.id


async def _offer(bench: BotBench, user: int) -> list[dict[str, Any]]:
    bench.lookups[LINK] = options(LINK, "Fresh", media_key="youtube:dQw4w9WgXcQ")
    results = await _ask(bench, user, LINK)
    assert [result["type"] for result in results] == ["article"] * 3
    return results


async def _request(bench: BotBench, offer_id: uuid.UUID) -> RequestRow:
    async with bench.sessions() as session:
        file = await session.scalar(select(RequestRow).where(RequestRow.id == offer_id))
    assert file is not None
    return file


@pytest.mark.parametrize(
    ("query", "a_clip"), [(f"  {LINK}”", False), (f"{LINK} 0:10-0:20", True)], ids=["whole", "clip"]
)
async def test_a_delivered_link_is_answered_from_the_cache_without_a_lookup(
    query: str, a_clip: bool, bench: BotBench, tmp_path: Path
) -> None:
    file_id = await _deliver_earlier(bench, tmp_path)
    bench.lookups[LINK] = AssertionError("no lookup for a cached link")
    results = await _ask(bench, next(_users), query)
    assert [(result["type"], result["video_file_id"]) for result in results] == [("video", file_id)]
    assert "Earlier" in results[0]["caption"]
    # Inline results are whole videos: a query asking for a clip is told so.
    assert (texts.inline_whole_only() in _hint(bench)) is a_clip


async def test_a_query_with_a_clip_gets_whole_videos_and_is_told_so(bench: BotBench) -> None:
    user = next(_users)
    bench.lookups[LINK] = options(LINK, "Fresh", media_key="youtube:dQw4w9WgXcQ")
    results = await _ask(bench, user, f"{LINK} 1:20-2:05")
    assert [result["title"] for result in results] == [
        "🎬 Video 720p",
        "🎬 Video 360p",
        "🎵 Audio only",
    ]
    assert texts.inline_whole_only() in _hint(bench)
    assert await _ask(bench, user, LINK)
    assert texts.inline_whole_only() not in _hint(bench), "no range, no notice"


async def test_a_chosen_result_is_queued_into_its_inline_message(bench: BotBench) -> None:
    user = next(_users)
    results = await _offer(bench, user)
    assert [result["title"] for result in results] == [
        "🎬 Video 720p",
        "🎬 Video 360p",
        "🎵 Audio only",
    ]
    assert all(result["reply_markup"]["inline_keyboard"] for result in results)
    choice = InlineChoice.parse(results[0]["id"])
    assert choice is not None and choice.height == 720

    await _choose(bench, user, results[0]["id"], "AAAA-inline-1")
    request = await _request(bench, choice.offer_id)
    assert request.state is RequestState.QUEUED
    assert (request.kind, request.resolution) == (MediaKind.VIDEO, 720)
    assert request.inline_message_id == "AAAA-inline-1"
    assert bench.queue.pending == 1
    # The same chosen result again (Telegram repeats an update) changes nothing.
    edits = len(bench.telegram.calls_of("editMessageText"))
    await _choose(bench, user, results[0]["id"], "AAAA-inline-1")
    assert bench.queue.pending == 1
    assert len(bench.telegram.calls_of("editMessageText")) == edits, "its progress stays"


async def test_forged_and_oversized_results_queue_nothing(bench: BotBench) -> None:
    owner, stranger = next(_users), next(_users)
    results = await _offer(bench, owner)
    choice = InlineChoice.parse(results[0]["id"])
    assert choice is not None
    forged = [
        (stranger, results[0]["id"]),  # someone else's offer
        (owner, InlineChoice(choice.offer_id, MediaKind.VIDEO, 1080).result_id),  # not offered
        (owner, InlineChoice(uuid.uuid4(), MediaKind.VIDEO, 720).result_id),  # no such offer
        (owner, "v:720:" + "f" * 500),  # oversized
        (owner, "x" * 64),
        (owner, "c:" + choice.offer_id.hex),  # a cached result: Telegram sent it already
    ]
    for user, result_id in forged:
        await _choose(bench, user, result_id, "forged-inline")
    request = await _request(bench, choice.offer_id)
    assert request.state is RequestState.OFFERED and request.inline_message_id is None
    assert bench.queue.pending == 0


async def test_a_banned_user_gets_an_empty_answer_and_no_lookup(bench: BotBench) -> None:
    user = next(_users)
    async with bench.sessions() as session:
        await UserRepository(session).upsert(TelegramUser(telegram_id=user, first_name="B"))
        await UserRepository(session).set_banned(user, True)
        await session.commit()
    bench.lookups[LINK] = AssertionError("no lookup for a banned user")
    assert await _ask(bench, user, LINK) == []
    assert "Not available" in _hint(bench)
    await _choose(bench, user, InlineChoice(uuid.uuid4(), MediaKind.AUDIO).result_id, "b-1")
    assert bench.queue.pending == 0


async def test_refusals_and_slow_lookups_are_answered_in_time(bench: BotBench) -> None:
    user = next(_users)
    assert await _ask(bench, user, "hello there") == []
    assert "paste a video link" in _hint(bench)
    bench.lookups["https://example.com/x"] = UnsupportedLinkError(detail="test")
    assert await _ask(bench, user, "example.com/x") == []

    async def never() -> Any:
        import asyncio

        await asyncio.sleep(3600)

    bench.lookups["https://example.com/slow"] = never
    assert await _ask(bench, user, "https://example.com/slow") == []
    assert "Could not look up" in _hint(bench)


class TestWithoutStorageChat:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {}

    async def test_inline_mode_says_it_is_not_configured(self, bench: BotBench) -> None:
        bench.lookups[LINK] = AssertionError("no lookup without a storage chat")
        assert await _ask(bench, next(_users), LINK) == []
        assert "not configured" in _hint(bench)


class TestSitePushBack:
    ADMIN = 920_999_999

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"storage_chat_id": STORAGE, "admin_ids": {self.ADMIN}}

    async def test_the_user_is_told_and_the_admins_warned_once(self, bench: BotBench) -> None:
        bench.lookups[LINK] = YouTubeBotCheckError(detail="Sign in to confirm you're not a bot")
        for _ in range(2):
            assert await _ask(bench, next(_users), LINK) == []
            assert "not a robot" in _hint(bench)
        warnings = [
            call
            for call in bench.telegram.calls_of("sendMessage")
            if call.params.get("chat_id") == str(self.ADMIN)
        ]
        assert len(warnings) == 1 and "PO" in warnings[0].params["text"]


async def _delivered_in_parts(bench: BotBench, owner: int, *, inline: bool) -> uuid.UUID:
    """A request of `owner`'s delivered in two parts, chosen inline or through a button."""
    parts = [(f"part-{index}-{owner}-{inline}", f"u-{index}-{owner}-{inline}") for index in (0, 1)]
    if inline:
        return await _delivered(bench, owner, STORAGE, parts, inline_message_id="AAAA-big")
    return await _delivered(bench, owner, owner, parts)


async def _start(bench: BotBench, user: int, request_id: uuid.UUID) -> str:
    """`user` opens the deep link of `request_id` in their private chat; the bot's answer."""
    await bench.say(user, f"/start {start_payload(request_id)}")
    return str(bench.telegram.sent_messages(user)[-1]["text"])


async def test_only_the_requester_of_an_inline_delivery_may_pull_its_parts(
    bench: BotBench,
) -> None:
    owner, stranger = next(_users), next(_users)
    inline = await _delivered_in_parts(bench, owner, inline=True)
    chosen_by_button = await _delivered_in_parts(bench, owner, inline=False)

    # Request ids are seen in groups' button data: a stranger naming one gets nothing.
    assert await _start(bench, stranger, inline) == texts.not_available()
    # Nor does the owner get a request that was never an inline one through this link.
    assert await _start(bench, owner, chosen_by_button) == texts.not_available()
    assert bench.queue.pending == 0
    async with bench.sessions() as session:
        requests = (await session.scalars(select(RequestRow))).all()
    assert len(requests) == 2, "nothing recorded for the refused links"

    assert await _start(bench, owner, inline) == texts.inline_sending_parts()
    assert bench.queue.pending == 1


@pytest.mark.parametrize("typed", ["HTTPS://YOUTU.BE/dQw4w9WgXcQ", "Youtu.be/dQw4w9WgXcQ"])
async def test_a_delivered_link_typed_with_capitals_is_answered_from_the_cache(
    bench: BotBench, tmp_path: Path, typed: str
) -> None:
    file_id = await _deliver_earlier(bench, tmp_path)
    bench.lookups[LINK] = AssertionError("no lookup for a cached link")
    results = await _ask(bench, next(_users), typed)
    assert [(result["type"], result["video_file_id"]) for result in results] == [("video", file_id)]
