"""Forged button data: answered "not available", nothing stored, queued or shown."""

from __future__ import annotations

import uuid

from mediabot.bot import texts
from mediabot.bot.keyboards import Choice, ChoiceData, PlaylistChoice, PlaylistData
from tests.bot.conftest import BotBench
from tests.bot.forgeries import VALID, forgeries, unpacks

CHAT = 4242


def _answers(bench: BotBench) -> list[str]:
    return [call.params.get("text", "") for call in bench.telegram.calls_of("answerCallbackQuery")]


async def test_an_unknown_language_is_refused(bench: BotBench) -> None:
    await bench.say(CHAT, "/language")
    message_id = bench.telegram.sent_messages(CHAT)[-1]["message_id"]
    await bench.press(CHAT, message_id, "lang:de")
    assert _answers(bench)[-1] == texts.not_available()
    await bench.press(CHAT, message_id, "lang:ru")  # a real choice still works
    assert _answers(bench)[-1] != texts.not_available()


async def test_a_history_page_past_the_end_shows_the_last_one(bench: BotBench) -> None:
    await bench.say(CHAT, "/history")
    message_id = bench.telegram.sent_messages(CHAT)[-1]["message_id"]
    await bench.press(CHAT, message_id, "h:p::10000")
    texts_sent = [
        call.params.get("text", "")
        for call in bench.telegram.calls_of("sendMessage", "editMessageText")
        if call.params.get("chat_id") == str(CHAT)
    ]
    assert texts_sent[-1] == texts.history_empty()
    assert not any("10001" in text for text in texts_sent)


async def test_a_resend_without_its_request_is_answered_not_available(bench: BotBench) -> None:
    await bench.say(CHAT, "/history")
    message_id = bench.telegram.sent_messages(CHAT)[-1]["message_id"]
    await bench.press(CHAT, message_id, "h:s::0")
    assert _answers(bench)[-1] == texts.not_available()
    assert bench.queue.pending == 0


async def test_every_forged_press_is_answered_not_available(bench: BotBench) -> None:
    """Each kind of button's data, with a field emptied, mangled, missing or added: no
    handler sees it, the press is answered, nothing is queued."""
    await bench.say(CHAT, "/history")
    message_id = bench.telegram.sent_messages(CHAT)[-1]["message_id"]
    one_of_each = {type(valid): valid for valid in VALID}.values()
    forged = [
        data for valid in one_of_each for data in forgeries(valid) if not unpacks(type(valid), data)
    ]
    assert len(forged) > 100
    for data in forged:
        before = len(_answers(bench))
        await bench.press(CHAT, message_id, data)
        assert _answers(bench)[before:] == [texts.not_available()], data
    assert bench.queue.pending == 0


async def test_a_well_formed_press_that_may_not_act_is_answered_once(bench: BotBench) -> None:
    """Data that parses, on the wrong message or naming no offer: the offer filter answers
    it, and the catch-all leaves it alone."""
    await bench.say(CHAT, "https://example.com/v")
    keyboard = next(
        m for m in reversed(bench.telegram.sent_messages(CHAT)) if m.get("reply_markup")
    )
    audio = next(
        button["callback_data"]
        for row in keyboard["reply_markup"]["inline_keyboard"]
        for button in row
        if button["text"].startswith("🎵")
    )
    unknown = uuid.uuid4()
    presses = [
        (keyboard["message_id"] + 1, audio),  # another message
        (keyboard["message_id"], ChoiceData(request_id=unknown, choice=Choice.AUDIO).pack()),
        (
            keyboard["message_id"],
            PlaylistData(playlist_id=unknown, choice=PlaylistChoice.AUDIO).pack(),
        ),
    ]
    for message_id, data in presses:
        before = len(_answers(bench))
        await bench.press(CHAT, message_id, data)
        assert _answers(bench)[before:] == [texts.not_available()], data
    assert bench.queue.pending == 0
    before = len(_answers(bench))
    await bench.press(CHAT, keyboard["message_id"], audio)  # the real press still works
    assert len(_answers(bench)) == before + 1 and bench.queue.pending == 1
