"""A hostile or careless user against `mediabot run`, through the fake Bot API.

Each test is an attack that once broke something, or a probe of an edge that held: forged
and stale button presses, settings pressed in a group, odd clip ranges, `.txt` files that
are not lists, edits and floods. What every one of them asks: the user gets a short answer
they can act on, nothing is lost, other users are still served, and the bot's log shows
no traceback.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediabot.bot import clip_texts, list_texts, texts
from tests.e2e.test_subtitles import _page
from tests.support.conversation import Conversation, Keyboard, buttons_of
from tests.support.fake_telegram import WRONG_FILE_ID, ApiCall, FakeTelegram
from tests.support.feeds import distinct_items, podcast_feed
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

GROUP = -100_960_000_001
STORAGE = -100_960_000_002
ANN = 960_002
BOB = 960_003
SERVED_BESIDE_S = 30.0
"""Another user's link is answered within this while one user's slow links are looked up:
each slow link holds its lookup process for up to the 90 s lookup deadline, so a link that
waited behind them would take longer; the rest is room for a loaded machine."""


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("hostile")
    with mediabot_run(fake_telegram, data_dir, STORAGE_CHAT_ID=str(STORAGE)) as process:
        yield process
    assert "Traceback" not in process.log, process.log[-6000:]


def _no_traceback(bot: MediabotProcess, since: int) -> None:
    """No traceback in what the bot logged from byte `since` of its log on."""
    logged = bot.log[since:]
    assert "Traceback" not in logged, logged[-6000:]


def _log_size(bot: MediabotProcess) -> int:
    return len(bot.log)


def _press(
    telegram: FakeTelegram, chat_id: int, message_id: int, data: str, user_id: int | None = None
) -> str:
    """A press on a button with `data`; the callback query's id."""
    update = telegram.inject_callback(chat_id, message_id, data, user_id=user_id)
    return str(update["callback_query"]["id"])


async def _answers(telegram: FakeTelegram, query_ids: list[str], since: int) -> list[ApiCall]:
    """The answers to these callback queries, in their order (each must come)."""
    found: dict[str, ApiCall] = {}
    deadline = time.monotonic() + 30
    while len(found) < len(query_ids):
        for call in telegram.calls[since:]:
            if call.method == "answerCallbackQuery" and call.params["callback_query_id"] in (
                query_ids
            ):
                found.setdefault(call.params["callback_query_id"], call)
        if time.monotonic() > deadline:
            missing = [query for query in query_ids if query not in found]
            raise AssertionError(f"presses never answered: {missing}")
        await asyncio.sleep(0.05)
    return [found[query] for query in query_ids]


async def _sent_message(chat: Conversation, since: int, within: float = 30) -> ApiCall:
    return await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendMessage" and call.ok,
        within,
        since=since,
    )


async def _seconds_to_a_keyboard(telegram: FakeTelegram, url: str, within: float) -> float:
    """How long a new user waits for the keyboard of `url` (which must have buttons)."""
    chat = Conversation(telegram)
    started = time.monotonic()
    keyboard = await chat.keyboard(chat.say(url), within=within)
    assert keyboard.buttons
    return time.monotonic() - started


# -- forged and stale presses ------------------------------------------------------------------


async def test_forged_callback_data_of_every_kind_gets_one_short_answer_each(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    real = keyboard.data("🎵")  # c:<id>:a:0
    request = real.split(":")[1]
    stranger = uuid.uuid4().hex
    forged = [
        "",
        "x",
        ":",
        "c",
        "c:",
        f"c:{request}",
        f"c:{request}:v",
        f"c:{request}:v:7",  # a height never offered
        f"c:{request}:v:99999",
        f"c:{request}:v:-1",
        f"c:{request}:q:0",
        f"c:{request.upper()}:a:0",
        f"c:{stranger}:a:0",
        f"c:{request}:a:0:extra",
        f"l:{stranger}:v:720",
        f"l:{request}:o:0",
        f"m:{stranger}",
        f"m:{request}",  # "other choices" of an offer nobody chose by default
        f"q:{stranger}",
        f"h:s:{stranger}:0",
        "h:p::99999",
        "h:s::0",
        "lang:xx",
        "lang:",
        "set:1:720:",
        f"set:{chat.chat_id}::",
        f"set:{chat.chat_id}:ask:file",
        f"set:{chat.chat_id}:9999:",
        f"set:{chat.chat_id + 1}:audio:",
        "set:-5:audio:",
        "\u0000" * 10,
        "é" * 32,
        "c:" + "f" * 62,
    ]
    since = len(fake_telegram.calls)
    queries = [_press(fake_telegram, chat.chat_id, keyboard.message_id, data) for data in forged]
    answers = await _answers(fake_telegram, queries, since)
    for data, answer in zip(forged, answers, strict=True):
        assert answer.params.get("text"), (data, answer.params)
    # The offer is untouched: its real button still works.
    sent = await chat.media(chat.press(keyboard, real))
    assert sent.method == "sendAudio"
    _no_traceback(bot, logged)


async def test_settings_in_a_group_change_only_their_owners(
    bot: MediabotProcess, fake_telegram: FakeTelegram
) -> None:
    logged = _log_size(bot)
    since = len(fake_telegram.calls)
    fake_telegram.inject_message(GROUP, "/settings", user_id=ANN, chat_type="supergroup")
    shown = await fake_telegram.wait_for(
        lambda call: call.params.get("chat_id") == str(GROUP) and call.method == "sendMessage",
        30,
        since=since,
    )
    keyboard = Keyboard(int(shown.result["message_id"]), buttons_of(shown))
    audio = keyboard.data("🎵")

    since = len(fake_telegram.calls)
    query = _press(fake_telegram, GROUP, keyboard.message_id, audio, user_id=BOB)
    [answer] = await _answers(fake_telegram, [query], since)
    assert answer.params["text"] == texts.not_your_settings()
    assert not fake_telegram.calls_of("editMessageText")[since:]

    since = len(fake_telegram.calls)
    query = _press(fake_telegram, GROUP, keyboard.message_id, audio, user_id=ANN)
    [answer] = await _answers(fake_telegram, [query], since)
    assert answer.params["text"] == texts.settings_saved()
    edited = await fake_telegram.wait_for(
        lambda call: call.params.get("chat_id") == str(GROUP) and call.method == "editMessageText",
        30,
        since=since,
    )
    assert any(text.startswith("✓ 🎵") for text in buttons_of(edited))
    _no_traceback(bot, logged)


async def _set_default(telegram: FakeTelegram, user_id: int, label: str) -> None:
    """The user picks the /settings button starting with `label` in their private chat."""
    chat = Conversation(telegram, user_id)
    shown = await _sent_message(chat, chat.say("/settings"))
    keyboard = Keyboard(int(shown.result["message_id"]), buttons_of(shown))
    since = chat.press(keyboard, keyboard.data(label))
    await telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "editMessageText" and call.ok,
        30,
        since=since,
    )


def _in_group(call: ApiCall) -> bool:
    return call.params.get("chat_id") == str(GROUP) and call.ok


async def test_other_choices_in_a_group_pressed_by_a_stranger_twice_and_after_a_lost_file(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    await _set_default(fake_telegram, ANN, "≤720p")
    since = len(fake_telegram.calls)
    fake_telegram.inject_message(GROUP, media.dash_mpd, user_id=ANN, chat_type="supergroup")
    kept = await fake_telegram.wait_for(
        lambda call: (
            _in_group(call) and call.method == "editMessageText" and "⚙" in str(buttons_of(call))
        ),
        90,
        since=since,
    )
    status = Keyboard(int(kept.result["message_id"]), buttons_of(kept))
    other = status.data("⚙")

    since = len(fake_telegram.calls)
    [refused] = await _answers(
        fake_telegram, [_press(fake_telegram, GROUP, status.message_id, other, BOB)], since
    )
    assert refused.params["text"] == texts.only_the_sender()

    since = len(fake_telegram.calls)
    twice = [_press(fake_telegram, GROUP, status.message_id, other, ANN) for _ in range(2)]
    await _answers(fake_telegram, twice, since)
    await asyncio.to_thread(bot.wait_for_log, "offered again as", 30, count=2)
    await fake_telegram.wait_for(
        lambda call: _in_group(call) and call.method == "editMessageText", 30, since=since
    )
    offers = {
        json.dumps(buttons_of(call), sort_keys=True)
        for call in fake_telegram.calls[since:]
        if _in_group(call) and call.method == "editMessageText"
    }
    assert len(offers) == 1, offers  # one offer again, however many presses
    keyboard = Keyboard(status.message_id, json.loads(offers.pop()))

    # The same 720p again comes from Telegram's copy; Telegram lost it: fetched again.
    # (Telegram's copy would take the keyboard's place by an edit: that edit is refused.)
    fake_telegram.fail_next(
        "editMessageMedia", error_code=400, description=WRONG_FILE_ID, chat_id=GROUP
    )
    since = len(fake_telegram.calls)
    _press(fake_telegram, GROUP, keyboard.message_id, keyboard.data("720p"), ANN)
    await fake_telegram.wait_for(
        lambda call: _in_group(call) and call.method == "sendVideo" and call.ok, 120, since=since
    )
    _no_traceback(bot, logged)


async def test_subtitles_pressed_twice_and_forged_on_a_video_without_them(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    logged = _log_size(bot)
    url = _page(media_requests, media.clip["mp4"], ("en",))
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(url))
    since = len(fake_telegram.calls)
    presses = [_press(fake_telegram, chat.chat_id, keyboard.message_id, keyboard.data("💬"))]
    presses.append(_press(fake_telegram, chat.chat_id, keyboard.message_id, keyboard.data("💬")))
    await _answers(fake_telegram, presses, since)
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendDocument" and call.ok,
        60,
        since=since,
    )

    bare = Conversation(fake_telegram)
    keyboard = await bare.keyboard(bare.say(media.progressive_mp4))
    forged = keyboard.data("🎵").replace(":a:", ":s:")
    since = len(fake_telegram.calls)
    await _answers(
        fake_telegram, [_press(fake_telegram, bare.chat_id, keyboard.message_id, forged)], since
    )
    said = await bare.reply(since, within=60)
    assert said.params["text"] == clip_texts.no_subtitles()
    _no_traceback(bot, logged)


@pytest.mark.parametrize(
    ("query", "a_clip"),
    [
        ("{url} 1:20-2:05", True),
        ("{url}?t=90", True),
        ("{url}#t=1m30s", True),
        ("{url} 9:00-", False),
    ],
)
async def test_an_inline_query_with_a_clip_is_answered(
    query: str, a_clip: bool, bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    query_id = fake_telegram.inject_inline_query(BOB + 100, query.format(url=media.clip["mp4"]))
    deadline = time.monotonic() + 30
    while fake_telegram.inline_results(query_id) is None:
        assert time.monotonic() < deadline, "the inline query was never answered"
        await asyncio.sleep(0.05)
    assert fake_telegram.inline_results(query_id)
    (answer,) = [
        call
        for call in fake_telegram.calls_of("answerInlineQuery")
        if call.params.get("inline_query_id") == query_id
    ]
    # Inline results are whole videos: a query asking for a clip is told so.
    assert (texts.inline_whole_only() in str(answer.params.get("button"))) is a_clip
    _no_traceback(bot, logged)


# -- lists of links that are not lists ---------------------------------------------------------


async def _list_answer(
    fake_telegram: FakeTelegram, path: Path, containing: str, **document: str
) -> ApiCall:
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(chat.chat_id, path, **document)  # type: ignore[arg-type]
    return await chat.final_text(since, containing, within=30)


@pytest.mark.parametrize(
    ("content", "answer"),
    [
        (b"", list_texts.list_without_links),
        (bytes(range(256)) * 64, list_texts.list_without_links),
        (b"\n" * 20_000, list_texts.list_without_links),
    ],
    ids=["empty", "binary", "blank-lines"],
)
async def test_a_txt_that_is_no_list_gets_a_plain_answer(
    content: bytes,
    answer: object,
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    tmp_path: Path,
) -> None:
    logged = _log_size(bot)
    listed = tmp_path / "list.txt"
    listed.write_bytes(content)
    said = answer()  # type: ignore[operator]
    await _list_answer(fake_telegram, listed, said)
    _no_traceback(bot, logged)


async def test_a_txt_one_byte_over_the_limit_is_refused_as_too_big(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    listed = tmp_path / "big.txt"
    line = (media.progressive_mp4 + "\n").encode()
    listed.write_bytes((line * (64 * 1024 // len(line) + 1))[: 64 * 1024 + 1])
    await _list_answer(fake_telegram, listed, list_texts.list_too_big(64))


async def test_a_txt_in_utf16_is_read_as_a_list(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    """Windows Notepad's "Unicode": UTF-16 with its byte order mark."""
    listed = tmp_path / "unicode.txt"
    listed.write_text(f"мои ссылки\r\n{media.progressive_mp4}\r\n", encoding="utf-16")
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(chat.chat_id, listed)
    keyboard = await chat.keyboard(since)
    assert any(text.startswith("🎵") for text in keyboard.buttons)


async def test_a_txt_of_thousands_of_lines_and_private_links_is_answered(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    logged = _log_size(bot)
    listed = tmp_path / "lines.txt"
    junk = "\n".join(f"line {number} no link here" for number in range(3000))
    private = "file:///etc/passwd\nhttp://10.0.0.1/admin\nhttp://127.0.0.1:1/x\n"
    listed.write_text(private + junk[: 60 * 1024], encoding="utf-8")
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(chat.chat_id, listed)
    # Each link gets its own answer; none is fetched (file://) or hangs the others.
    answers = []
    for _ in range(3):
        answer = await chat.reply(since, within=60)
        answers.append(answer.params["text"])
        since = fake_telegram.calls.index(answer) + 1
    assert all(answers), answers
    _no_traceback(bot, logged)


async def test_a_document_that_is_not_text_gets_a_hint(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(
        chat.chat_id, media.path(media.progressive_mp4), mime_type="video/mp4"
    )
    said = await _sent_message(chat, since)
    assert said.params["text"] == texts.no_link()


# -- clips ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix",
    ["?t=99999999999", "?t=-90", "#t=", "?t=1m30sxyz", "?t=9999h", " 1:20-", " -5-10"],
)
async def test_odd_start_times_offer_the_whole_video(
    suffix: str, bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.clip["mp4"] + suffix))
    assert any(text.startswith("🎵") for text in keyboard.buttons)
    _no_traceback(bot, logged)


@pytest.mark.parametrize("dash", ["\u2212", "\u2012", "\u2010", "\u2011", "\uff0d"])
async def test_a_range_with_another_dash_offers_the_clip(
    dash: str, bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(f"{media.clip['mp4']} 1:20{dash}2:05"))
    assert any(text.startswith("✂") for text in keyboard.buttons), keyboard.buttons


async def test_a_range_of_huge_hours_starts_past_the_end(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since = chat.say(f"{media.clip['mp4']} 999999:00:00-999999:00:30")
    await chat.final_text(since, "starts after the end of the video", within=30)
    keyboard = await chat.keyboard(since)
    assert not any(text.startswith("✂") for text in keyboard.buttons)


async def test_a_range_beside_a_link_without_video_gets_an_answer(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    since = chat.say(f"{media.base_url}/nothing-here.html 1:20-2:05")
    answer = await chat.reply(since, within=60)
    assert answer.params["text"]
    _no_traceback(bot, logged)


# -- long messages, edits, floods ----------------------------------------------------------------


async def test_a_message_of_4096_characters_of_links_is_answered(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    links = []
    number = 0
    while len(" ".join(links)) < 4000:
        links.append(f"{media.progressive_mp4}?n={number}")
        number += 1
    text = " ".join(links)[:4096]
    since = chat.say(text)
    await chat.final_text(since, "links per message", within=30)
    await chat.keyboard(since, within=60)
    _no_traceback(bot, logged)


async def test_a_message_edited_many_times_quickly_is_answered_for_its_last_links(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    """Each edit once got an offer of its own (17 here), each a lookup ahead of other
    users' links; only the last version is answered now, and no edit gets two."""
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    sent = fake_telegram.inject_message(chat.chat_id, "hello")
    message_id = sent["message"]["message_id"]
    for number in range(15):
        fake_telegram.edit_user_message(
            chat.chat_id, message_id, f"{media.progressive_mp4}?edit={number}"
        )
    fake_telegram.edit_user_message(chat.chat_id, message_id, "no link any more")
    fake_telegram.edit_user_message(chat.chat_id, message_id, media.hls_master)
    await chat.telegram.wait_for(
        lambda call: (
            chat.in_chat(call)
            and call.ok
            and "inline_keyboard" in call.params.get("reply_markup", "")
            and "720p" in call.params.get("reply_markup", "")
        ),
        60,
        since=since,
    )
    offers = {
        int(call.result["message_id"])
        for call in fake_telegram.calls[since:]
        if chat.in_chat(call)
        and call.ok
        and "inline_keyboard" in call.params.get("reply_markup", "")
    }
    assert len(offers) <= 3, offers  # edits a worker answered before the next one came
    _no_traceback(bot, logged)


async def test_an_edit_in_a_group_is_answered_in_the_group(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    since = len(fake_telegram.calls)
    sent = fake_telegram.inject_message(GROUP, "look", user_id=ANN, chat_type="supergroup")
    message_id = sent["message"]["message_id"]
    fake_telegram.edit_user_message(GROUP, message_id, f"look {media.progressive_mp4}")
    await fake_telegram.wait_for(
        lambda call: (
            call.params.get("chat_id") == str(GROUP)
            and "inline_keyboard" in call.params.get("reply_markup", "")
        ),
        30,
        since=since,
    )


async def test_one_users_flood_does_not_keep_another_waiting(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    flooder = Conversation(fake_telegram)
    for number in range(80):
        flooder.say(f"spam {number}" if number % 2 else f"{media.progressive_mp4}?spam={number}")
    assert await _seconds_to_a_keyboard(fake_telegram, media.hls_master, within=60) < 15
    _no_traceback(bot, logged)


async def test_one_users_slow_links_do_not_keep_another_waiting(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """Links to servers that hardly answer each hold a place in the lookup lane until the
    lookup's deadline: one user sending enough of them once took every place."""
    logged = _log_size(bot)
    flooder = Conversation(fake_telegram)
    for message in range(5):
        links = [
            media_requests.add_drip(f"/drip/{message}-{link}.mp4", interval_s=1.0)
            for link in range(5)
        ]
        flooder.say(" ".join(links))
    await fake_telegram.wait_for(
        lambda call: flooder.in_chat(call) and "Looking up" in call.params.get("text", ""),
        30,
    )
    waited = await _seconds_to_a_keyboard(fake_telegram, media.hls_master, within=120)
    assert waited < SERVED_BESIDE_S, waited
    _no_traceback(bot, logged)


async def test_a_range_beside_a_playlist_link_is_answered(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    logged = _log_size(bot)
    items = distinct_items(media_requests, media, "hostile-pl", 2)
    feed = podcast_feed(media_requests, "/hostile-pl.xml", items, title="Hostile list")
    chat = Conversation(fake_telegram)
    since = chat.say(f"{feed} 1:20-2:05")
    keyboard = await chat.keyboard(since, within=60)
    assert keyboard.buttons["🎵 Audio only"].startswith("l:")  # the playlist's offer
    await chat.final_text(since, "can't be cut from a playlist")  # the range was not lost
    _no_traceback(bot, logged)


async def test_thirty_presses_of_one_button_deliver_once_and_are_each_answered(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.audio_m4a))
    audio = keyboard.data("🎵")
    since = len(fake_telegram.calls)
    presses = [_press(fake_telegram, chat.chat_id, keyboard.message_id, audio) for _ in range(30)]
    await _answers(fake_telegram, presses, since)
    await chat.media(since)
    await chat.final_text(chat.say("/queue"), "", within=30)
    sent = [call for call in chat.calls("sendAudio") if call.ok]
    assert len(sent) == 1
    _no_traceback(bot, logged)


async def test_settings_pressed_in_a_burst_keep_the_last_pressed_of_each(
    bot: MediabotProcess, fake_telegram: FakeTelegram
) -> None:
    """The presses are handled side by side and stored in any order: the value pressed
    last (the latest update) stays, not the one stored last."""
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    shown = await _sent_message(chat, chat.say("/settings"))
    keyboard = Keyboard(int(shown.result["message_id"]), buttons_of(shown))
    labels = ["≤360p", "≤480p", "≤720p", "≤1080p", "🎵", "Always", "≤720p", "📄", "▶", "📄"]
    data = [next(d for text, d in keyboard.buttons.items() if label in text) for label in labels]
    since = len(fake_telegram.calls)
    presses = [_press(fake_telegram, chat.chat_id, keyboard.message_id, d) for d in data]
    answers = await _answers(fake_telegram, presses, since)
    assert {answer.params["text"] for answer in answers} == {texts.settings_saved()}
    again = await _sent_message(chat, chat.say("/settings"))
    checked = [text for text in buttons_of(again) if text.startswith("✓")]
    assert len(checked) == 2, checked
    assert ["≤720p" in checked[0], "📄" in checked[1]] == [True, True], checked
    _no_traceback(bot, logged)


async def test_an_old_message_edited_is_answered_for_its_new_link(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    old = fake_telegram.inject_message(chat.chat_id, media.progressive_mp4)["message"]
    await chat.keyboard(since)
    await chat.keyboard(chat.say(media.audio_m4a))
    since = len(fake_telegram.calls)
    fake_telegram.edit_user_message(chat.chat_id, old["message_id"], media.hls_master)
    keyboard = await chat.keyboard(since)
    assert any(text.startswith("720p") for text in keyboard.buttons)


@pytest.mark.parametrize("language_code", ["zz", "ru-RU", "../../etc/passwd", "x" * 40, ""])
async def test_an_odd_telegram_language_is_answered_in_a_language_the_bot_speaks(
    language_code: str, bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    logged = _log_size(bot)
    chat = Conversation(fake_telegram)
    fake_telegram.speaks(chat.chat_id, language_code)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    assert any(text.startswith("🎵") for text in keyboard.buttons)
    said = await _sent_message(chat, chat.say("no link"))
    assert said.params["text"]
    _no_traceback(bot, logged)


async def test_a_txt_whose_caption_is_edited_to_a_link_is_answered(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    logged = _log_size(bot)
    listed = tmp_path / "links.txt"
    listed.write_text(media.progressive_mp4 + "\n", encoding="utf-8")
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    sent = fake_telegram.inject_document(chat.chat_id, listed, caption="my list")["message"]
    await chat.keyboard(since)
    edited = {**sent, "caption": f"and {media.hls_master}", "edit_date": sent["date"] + 1}
    since = len(fake_telegram.calls)
    fake_telegram.inject_update({"edited_message": edited})
    keyboard = await chat.keyboard(since)
    assert any(text.startswith("720p") for text in keyboard.buttons)
    edited = {**edited, "caption": "no link", "edit_date": sent["date"] + 2}
    fake_telegram.inject_update({"edited_message": edited})
    said = await _sent_message(chat, chat.say("and now?"))
    assert said.params["text"] == texts.no_link()
    _no_traceback(bot, logged)


async def test_a_txt_without_links_in_a_group_gets_no_answer(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    """In a group only what is meant for the bot is answered: someone's notes are not."""
    notes = tmp_path / "notes.txt"
    notes.write_text("minutes of the meeting, no links\n", encoding="utf-8")
    listed = tmp_path / "links.txt"
    listed.write_text(media.hls_master + "\n", encoding="utf-8")
    documents = [
        fake_telegram.inject_document(ANN, path)["message"]["document"]  # registers the file
        for path in (notes, listed)
    ]
    since = len(fake_telegram.calls)
    for document in documents:
        fake_telegram.inject_message(
            GROUP,
            "",
            user_id=ANN,
            chat_type="supergroup",
            fields={"text": None, "document": document},
        )
    await fake_telegram.wait_for(
        lambda call: _in_group(call) and "inline_keyboard" in call.params.get("reply_markup", ""),
        30,
        since=since,
    )
    fake_telegram.inject_message(GROUP, "/settings", user_id=ANN, chat_type="supergroup")
    settings = await fake_telegram.wait_for(
        lambda call: _in_group(call) and "set:" in call.params.get("reply_markup", ""),
        30,
        since=since,
    )
    said = [
        call.params.get("text", "")
        for call in fake_telegram.calls[since:]
        if _in_group(call) and call.method == "sendMessage"
    ]
    assert list_texts.list_without_links() not in said, said

    # The same notes sent in reply to the bot are meant for it: the answer says why not.
    since = len(fake_telegram.calls)
    fake_telegram.inject_message(
        GROUP,
        "",
        user_id=ANN,
        chat_type="supergroup",
        reply_to_message_id=int(settings.result["message_id"]),
        fields={"text": None, "document": documents[0]},
    )
    await fake_telegram.wait_for(
        lambda call: _in_group(call) and call.params.get("text") == list_texts.list_without_links(),
        30,
        since=since,
    )
