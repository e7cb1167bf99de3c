"""End to end in two languages: a Russian user is served in Russian, `/language` switches.

`mediabot run` against the fake Bot API, with a 2 MiB upload limit so the file arrives in
parts whose captions carry words of the bot ("Часть 1/N").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.conversation import Conversation, Keyboard, buttons_of
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess, mediabot_run


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("language")
    with mediabot_run(fake_telegram, data_dir, TELEGRAM_UPLOAD_LIMIT_MB="2") as process:
        yield process


def test_the_command_menus_are_set_per_scope_and_language(
    bot: MediabotProcess, fake_telegram: FakeTelegram
) -> None:
    private_en = {
        c["command"]: c["description"] for c in fake_telegram.commands("all_private_chats")
    }
    private_ru = {
        c["command"]: c["description"] for c in fake_telegram.commands("all_private_chats", "ru")
    }
    groups_ru = {
        c["command"]: c["description"] for c in fake_telegram.commands("all_group_chats", "ru")
    }
    assert set(private_en) == {"start", "help", "queue", "history", "language", "settings"}
    assert private_en["language"] == "Choose the language"
    assert private_ru["language"] == "Выбрать язык"
    assert "dl" in groups_ru and groups_ru["dl"].startswith("Скачать")


async def test_a_russian_user_is_served_in_russian_and_language_switches_to_english(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    fake_telegram.speaks(chat.chat_id, "ru-RU")

    start = await chat.reply(chat.say("/start"))
    assert "Пришлите ссылку на видео" in start.params["text"]

    keyboard = await chat.keyboard(chat.say(media.long_mp4))
    assert "✖ Отмена" in keyboard.buttons
    assert any(text.startswith("🎵 Только звук") for text in keyboard.buttons)
    since = chat.press(keyboard, keyboard.data("720p"))
    await chat.final_text(since, "⏳ В очереди")
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage",
        timeout=120,
        since=since,
    )
    parts = [call for call in chat.calls("sendVideo") if call.ok]
    assert len(parts) >= 2
    for number, call in enumerate(parts, start=1):
        assert f"Часть {number}/{len(parts)}" in call.params["caption"]
    statuses = [call.params["text"] for call in chat.calls("editMessageText")]
    assert not any(word in text for text in statuses for word in ("Queued", "loading", "Part"))

    since = chat.say("/language")
    offer = await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendMessage" and call.ok,
        since=since,
    )
    assert offer.params["text"] == "Выберите язык:"
    buttons = buttons_of(offer)
    assert list(buttons) == ["English", "Русский"]
    since = chat.press(Keyboard(int(offer.result["message_id"]), buttons), buttons["English"])
    await chat.final_text(since, "I'll speak English with you now.")

    # It sticks: Telegram still says ru-RU, the stored choice wins.
    help_text = await chat.reply(chat.say("/help"))
    assert help_text.params["text"].startswith("Send me a link to a video")
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    assert "✖ Cancel" in keyboard.buttons
