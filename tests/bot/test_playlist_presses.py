"""Playlist links in the bot: the offer, one choice for all items, the stack counting the
playlist as one, the row under a video link with `&list=`, the ✖, and forged presses."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from mediabot.bot import texts
from mediabot.db.models import FilePart, Playlist, RequestRow
from mediabot.db.repositories import ProviderRepository, RequestRows
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.playlist import PlaylistOptions
from mediabot.downloaders.errors import PlaylistLinkError
from tests.bot.conftest import BotBench, playlist_entries

CHAT = 5151
LIST = "https://videos.example/list/7"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_active_requests": 2}


def _playlist(url: str = LIST, count: int = 3, **overrides: Any) -> PlaylistOptions:
    entries = playlist_entries(count)
    return PlaylistOptions(url=url, title="My list", entries=entries, **overrides)


def _offered(bench: BotBench, chat: int = CHAT) -> tuple[int, str, dict[str, str]]:
    """The last message with buttons in the chat: its id, text and buttons."""
    message = next(m for m in reversed(bench.telegram.sent_messages(chat)) if m.get("reply_markup"))
    buttons = {
        button["text"]: button["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for button in row
    }
    return message["message_id"], message.get("text", ""), buttons


def _answers(bench: BotBench) -> list[str]:
    return [call.params.get("text", "") for call in bench.telegram.calls_of("answerCallbackQuery")]


async def _items(bench: BotBench) -> list[RequestRow]:
    async with bench.sessions() as session:
        found = await session.scalars(
            select(RequestRow)
            .where(RequestRow.playlist_id.is_not(None))
            .order_by(RequestRow.playlist_position)
        )
        return list(found.all())


async def _offer_playlist(bench: BotBench, **overrides: Any) -> tuple[int, dict[str, str]]:
    bench.lookups[LIST] = PlaylistLinkError(detail="3 entries")
    bench.playlists[LIST] = _playlist(**overrides)
    await bench.say(CHAT, LIST)
    message_id, _, buttons = _offered(bench)
    return message_id, buttons


async def test_a_playlist_link_offers_its_size_and_one_choice_for_all(bench: BotBench) -> None:
    bench.lookups[LIST] = PlaylistLinkError(detail="3 entries")
    bench.playlists[LIST] = _playlist(total_count=120, skipped=2)
    await bench.say(CHAT, LIST)
    _, text, buttons = _offered(bench)
    assert "My list" in text and "items: 3" in text and "3:00" in text
    assert "first 3 of its 120" in text and "Left out: 2" in text
    assert list(buttons) == ["360p", "480p", "720p", "1080p", "🎵 Audio only", "✖ Cancel"]


async def test_one_press_queues_every_item_the_cached_ones_first(bench: BotBench) -> None:
    await bench.say(CHAT, "https://videos.example/v/2")  # any link, for the chat's row
    async with bench.sessions() as session:  # item 2 was delivered as audio before
        chat_id = (await session.scalars(select(RequestRow.chat_id))).first()
        assert chat_id is not None
        part = FilePart(
            index=0, kind=MediaKind.AUDIO, telegram_file_id="A2", telegram_file_unique_id="u2"
        )
        session.add(
            RequestRow(
                chat_id=chat_id,
                provider_id=await ProviderRepository(session).id_of(Provider.GENERIC),
                request_url="https://videos.example/v/2",
                media_key="generic:item2",
                kind=MediaKind.AUDIO,
                state=RequestState.DELIVERED,
                parts=[part],
            )
        )
        await session.commit()
    message_id, buttons = await _offer_playlist(bench)
    await bench.press(CHAT, message_id, buttons["🎵 Audio only"])
    assert _answers(bench)[-1] == texts.playlist_queued(3)
    items = await _items(bench)
    assert [item.request_url.rsplit("/", 1)[1] for item in items] == ["2", "1", "3"]
    assert {item.state for item in items} == {RequestState.QUEUED}
    assert {item.kind for item in items} == {MediaKind.AUDIO}
    assert {item.status_message_id for item in items} == {message_id}
    assert bench.queue.pending == 3
    # The status keeps one ✖: the playlist's.
    _, text, status_buttons = _offered(bench)
    assert text == texts.playlist_queued(3)
    assert list(status_buttons) == ["✖ Cancel"]


async def test_the_stack_counts_a_playlist_as_one(bench: BotBench) -> None:
    message_id, buttons = await _offer_playlist(bench)
    await bench.press(CHAT, message_id, buttons["720p"])
    assert len(await _items(bench)) == 3
    # MAX_ACTIVE_REQUESTS=2: the playlist is one, so one more request fits...
    await bench.say(CHAT, "https://videos.example/single")
    single_id, _, single = _offered(bench)
    await bench.press(CHAT, single_id, single[next(iter(single))])
    assert _answers(bench)[-1].startswith("⏳")
    # ...and the next one does not.
    await bench.say(CHAT, "https://videos.example/another")
    other_id, _, other = _offered(bench)
    await bench.press(CHAT, other_id, other[next(iter(other))])
    assert _answers(bench)[-1] == texts.stack_full_alert(2)


@pytest.mark.parametrize("opened", [False, True], ids=["its own link", "opened from a video"])
async def test_a_repeat_left_out_is_not_told_as_items_the_limit_cut(
    bench: BotBench, opened: bool
) -> None:
    """A feed of 4 listing one item twice: 3 offered, 1 left out; no limit was hit."""
    url = "https://videos.example/watch?v=1&list=PL7" if opened else LIST
    bench.lookups[LIST] = PlaylistLinkError(detail="a playlist")
    bench.playlists[url] = _playlist(url, total_count=4, skipped=1)
    await bench.say(CHAT, url)
    if opened:
        video_id, _, buttons = _offered(bench)
        await bench.press(CHAT, video_id, buttons[texts.whole_playlist(3)])
    _, text, _ = _offered(bench)
    assert "items: 3" in text and "Left out: 1" in text
    assert "Only the first" not in text
    # Cut by the limit as well: both are told.
    bench.playlists[LIST] = _playlist(total_count=5, skipped=1)
    await bench.forget_lookups()
    await bench.say(CHAT, LIST)
    _, text, _ = _offered(bench)
    assert "first 3 of its 5" in text and "Left out: 1" in text


async def test_a_video_link_with_a_list_offers_the_playlist_on_a_row_of_its_own(
    bench: BotBench,
) -> None:
    url = "https://videos.example/watch?v=1&list=PL7"
    bench.playlists[url] = _playlist(url)
    await bench.say(CHAT, url)
    video_id, _, buttons = _offered(bench)
    assert list(buttons) == [
        "360p · 1.0 MB",
        "720p · 3.0 MB",
        "🎵 Audio only · size unknown",
        texts.whole_playlist(3),
        "✖ Cancel",
    ]
    await bench.press(CHAT, video_id, buttons[texts.whole_playlist(3)])
    playlist_id, text, playlist_buttons = _offered(bench)
    assert playlist_id != video_id and "items: 3" in text
    await bench.press(CHAT, playlist_id, playlist_buttons["🎵 Audio only"])
    assert len(await _items(bench)) == 3
    # The video's own offer is still there.
    await bench.press(CHAT, video_id, buttons["720p · 3.0 MB"])
    assert _answers(bench)[-1].startswith("⏳")


async def test_a_video_link_whose_list_cannot_be_read_offers_the_video(bench: BotBench) -> None:
    url = "https://videos.example/watch?v=1&list=broken"
    await bench.say(CHAT, url)  # the bench's playlist lookup finds nothing there
    _, _, buttons = _offered(bench)
    assert texts.whole_playlist(3) not in buttons and "720p · 3.0 MB" in buttons


async def test_the_playlist_cancel_ends_what_is_left(bench: BotBench) -> None:
    message_id, buttons = await _offer_playlist(bench)
    await bench.press(CHAT, message_id, buttons["🎵 Audio only"])
    async with bench.sessions() as session:
        first = (await _items(bench))[0]
        await RequestRows(session).set_state(first.id, RequestState.DELIVERED)
        await session.commit()
    await bench.press(CHAT, message_id, buttons["✖ Cancel"])
    assert [item.state for item in await _items(bench)] == [
        RequestState.DELIVERED,
        RequestState.CANCELLED,
        RequestState.CANCELLED,
    ]
    _, text, _ = _offered_or_last(bench)
    assert text == texts.playlist_cancelled(1, 3)
    await bench.press(CHAT, message_id, buttons["✖ Cancel"])  # again: nothing left
    assert _answers(bench)[-1] == texts.not_available()


def _offered_or_last(bench: BotBench) -> tuple[int, str, dict[str, str]]:
    message = bench.telegram.sent_messages(CHAT)[-1]
    return message["message_id"], message.get("text", ""), {}


async def test_forged_and_repeated_playlist_presses_change_nothing(bench: BotBench) -> None:
    message_id, buttons = await _offer_playlist(bench)
    playlist = buttons["🎵 Audio only"].split(":")[1]
    forged = [
        f"l:{uuid.uuid4().hex}:a:0",  # no such playlist
        f"l:{playlist}:v:999",  # a height the playlist does not offer
        f"l:{playlist}:z:0",  # no such choice
        f"l:{playlist[:-1]}:a:0",  # not a playlist id
        f"l:{playlist}:a:-5",
    ]
    for data in forged:
        await bench.press(CHAT, message_id, data)
    await bench.press(CHAT, message_id + 1000, buttons["🎵 Audio only"])  # another message
    assert not await _items(bench)
    assert bench.queue.pending == 0
    # The real press still works, once.
    await bench.press(CHAT, message_id, buttons["🎵 Audio only"])
    await bench.press(CHAT, message_id, buttons["720p"])  # a second choice: already on it
    assert _answers(bench)[-1] == texts.already_chosen()
    assert len(await _items(bench)) == 3
    async with bench.sessions() as session:
        row = await session.scalar(select(Playlist))
        assert row is not None and row.kind is MediaKind.AUDIO


async def test_only_the_sender_chooses_in_a_group(bench: BotBench) -> None:
    group = -100_777
    bench.lookups[LIST] = PlaylistLinkError(detail="3 entries")
    bench.playlists[LIST] = _playlist()
    update = bench.telegram.inject_message(group, LIST, user_id=31, chat_type="supergroup")
    await bench.dispatcher.feed_raw_update(bench.bot, update)
    await bench.lane.settled()
    message_id, _, buttons = _offered(bench, group)
    press = bench.telegram.inject_callback(group, message_id, buttons["360p"], user_id=32)
    await bench.dispatcher.feed_raw_update(bench.bot, press)
    assert _answers(bench)[-1] == texts.only_the_sender()
    assert not await _items(bench)


def test_playlist_buttons_fit_telegram_s_64_bytes() -> None:
    from mediabot.bot.keyboards import playlist_keyboard

    markup = json.loads(playlist_keyboard(uuid.uuid4()).model_dump_json())
    for row in markup["inline_keyboard"]:
        for button in row:
            assert len(button["callback_data"].encode()) <= 64
