"""Every link gets its answer: whatever Telegram refuses, however long the texts, however
often flood control says "retry after". Driven through the real dispatcher and the fake
Bot API (which enforces Telegram's limits) on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from mediabot.bot import texts
from mediabot.db.models import RequestRow
from mediabot.domain.enums import Provider
from mediabot.domain.media import MediaOptions
from mediabot.downloaders.errors import DownloadError
from mediabot.telegram.texts import utf16_length
from tests.bot.conftest import BotBench, options
from tests.support.conversation import buttons_of
from tests.support.fake_telegram import ApiCall

CHAT = 810_000_001
OTHER = 810_000_002
GONE = "Bad Request: message to edit not found"
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def _keyboards(bench: BotBench, chat_id: int) -> list[ApiCall]:
    return [
        call
        for call in bench.telegram.calls_of("sendMessage", "editMessageText")
        if call.ok
        and call.params.get("chat_id") == str(chat_id)
        and "inline_keyboard" in call.params.get("reply_markup", "")
    ]


async def test_a_huge_url_gets_its_status_and_its_keyboard(bench: BotBench) -> None:
    url = "https://example.com/v?" + "a" * (4083 - len("https://example.com/v?"))
    assert len(url) == 4083

    async def slow() -> MediaOptions:  # a slow lookup: the placeholder goes out first
        await bench.telegram.wait_for(lambda call: call.method == "sendMessage")
        return options(url)

    bench.lookups[url] = slow
    await bench.say(CHAT, url)
    status = bench.telegram.calls_of("sendMessage")[0]
    assert status.ok, status.result
    assert status.result["text"].startswith("🔎 Looking up https://example.com/v?aaa")
    assert utf16_length(status.result["text"]) <= 4096
    assert len(_keyboards(bench, CHAT)) == 1


async def test_a_huge_hostile_title_gets_a_clean_keyboard(bench: BotBench) -> None:
    url = "https://example.com/long-title"
    title = "\u202eevil\x1b[31m\u200b <b>r\ufeffed</b>\u200d " + "x" * 5000
    bench.lookups[url] = options(url, title)
    await bench.say(CHAT, url)
    [keyboard] = _keyboards(bench, CHAT)
    shown = keyboard.result["text"]
    assert shown.startswith("evil <b>red</b> xxx")  # the title's tags are text, not markup
    assert "\u202e" not in shown and "\x1b" not in shown
    assert not {"\u200b", "\u200d", "\ufeff"} & set(shown)
    assert shown.endswith("Choose a resolution or audio only:")
    assert utf16_length(shown) <= 4096


async def test_one_links_failures_never_cost_the_others_their_keyboards(
    bench: BotBench,
) -> None:
    first, second, third = (f"https://example.com/{n}" for n in ("one", "two", "three"))
    bench.lookups[second] = RuntimeError("an unexpected bug in one lookup")
    bench.telegram.fail_next("editMessageText", error_code=400, description=GONE)
    await bench.say(CHAT, f"{first} {second} {third}")
    keyboards = _keyboards(bench, CHAT)
    assert len(keyboards) == 2  # the first as a new reply (its status was gone), the third
    assert keyboards[0].method == "sendMessage"
    texts_shown = [m.get("text", "") for m in bench.telegram.sent_messages(CHAT)]
    assert texts.lookup_failed() in texts_shown
    # the first link's buttons work on the message that shows them
    await bench.press(
        CHAT, keyboards[0].result["message_id"], buttons_of(keyboards[0])["360p · 1.0 MB"]
    )
    assert bench.queue.pending == 1


async def test_twenty_flood_waits_on_sendmessage_still_bring_the_keyboard(
    bench: BotBench,
) -> None:
    bench.telegram.fail_next("sendMessage", count=20, retry_after=1)
    await bench.say(CHAT, "https://example.com/flooded")
    assert len(bench.clock.sleeps) >= 20
    assert len(_keyboards(bench, CHAT)) == 1


async def test_an_answer_is_dropped_once_its_update_is_too_old(bench: BotBench) -> None:
    bench.telegram.fail_next("sendMessage", count=100, retry_after=60)
    await bench.say(CHAT, "https://example.com/late")
    assert _keyboards(bench, CHAT) == []
    assert sum(bench.clock.sleeps) <= 300  # gave up at the deadline, did not wait forever


async def test_a_too_old_button_answer_never_stops_the_job(bench: BotBench) -> None:
    await bench.say(CHAT, "https://example.com/press")
    [keyboard] = _keyboards(bench, CHAT)
    bench.telegram.fail_next("answerCallbackQuery", error_code=400, description=TOO_OLD)
    await bench.press(CHAT, keyboard.result["message_id"], buttons_of(keyboard)["720p · 3.0 MB"])
    assert bench.queue.pending == 1
    queued = bench.telegram.sent_messages(CHAT)[-1]
    assert queued["text"].startswith("⏳ Queued")


async def test_a_flood_wait_on_the_button_answer_does_not_hold_the_job(bench: BotBench) -> None:
    await bench.say(CHAT, "https://example.com/press-flood")
    [keyboard] = _keyboards(bench, CHAT)
    bench.telegram.fail_next("answerCallbackQuery", retry_after=120)
    await bench.press(CHAT, keyboard.result["message_id"], buttons_of(keyboard)["360p · 1.0 MB"])
    assert bench.queue.pending == 1
    assert sum(bench.clock.sleeps) < 120


async def test_a_refusal_is_escaped_and_cleaned(bench: BotBench) -> None:
    url = "https://example.com/refused"
    bench.lookups[url] = DownloadError("No <video> at\x1b[2J \u202ethis link.")
    await bench.say(CHAT, url)
    shown = bench.telegram.sent_messages(CHAT)[-1]["text"]
    assert shown == "No <video> at this link."


async def test_the_lookup_timeout_comes_from_the_settings(bench: BotBench) -> None:
    url = "https://example.com/never"

    async def never() -> object:
        await asyncio.Event().wait()
        raise AssertionError

    bench.lookups[url] = never  # type: ignore[assignment]
    await asyncio.wait_for(bench.say(CHAT, url), 5)  # settings.lookup_timeout_s is 0.5
    assert bench.telegram.sent_messages(CHAT)[-1]["text"] == texts.lookup_failed()


async def test_a_blocked_bot_stops_writing_to_that_chat(bench: BotBench) -> None:
    bench.telegram.block_chat(CHAT)
    await bench.say(CHAT, "https://example.com/a https://example.com/b")
    assert len(bench.telegram.calls_of("sendMessage")) == 1
    await bench.say(OTHER, "https://example.com/c")
    assert len(_keyboards(bench, OTHER)) == 1


async def test_a_link_typed_with_capitals_is_looked_up_and_recorded_in_lower_case(
    bench: BotBench,
) -> None:
    """Scheme and host are case-insensitive: every spelling is one link, looked up once
    under the spelling whose key the cache and twins share; another form of the same video
    is folded into the same offer once its lookup tells the key."""
    normal = "https://youtu.be/dQw4w9WgXcQ"
    watch = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    asked: list[str] = []

    def found(url: str) -> Callable[[], Awaitable[MediaOptions]]:
        async def look_up() -> MediaOptions:
            asked.append(url)
            return options(url, media_key="youtube:dQw4w9WgXcQ", provider=Provider.YOUTUBE)

        return look_up

    bench.lookups[normal] = found(normal)
    bench.lookups[watch] = found(watch)
    await bench.say(
        CHAT,
        "HTTPS://YOUTU.BE/dQw4w9WgXcQ Youtu.be/dQw4w9WgXcQ "
        "https://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ",
    )
    assert sorted(asked) == [watch, normal], "any other spelling would have got the default"
    [keyboard] = _keyboards(bench, CHAT)
    assert keyboard.result["text"].startswith("A video")
    async with bench.sessions() as session:
        [offer] = (await session.scalars(select(RequestRow))).all()
    assert (offer.request_url, offer.media_key) == (normal, "youtube:dQw4w9WgXcQ")
