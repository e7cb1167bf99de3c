"""Webhook mode: Telegram posts updates to the bot's own HTTP server."""

from __future__ import annotations

from pathlib import Path

from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.ports import free_port
from tests.support.processes import MediabotProcess, mediabot_env


async def test_updates_posted_to_the_webhook_are_answered(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    env = mediabot_env(
        fake_telegram,
        tmp_path,
        WEBHOOK_URL="https://bot.example.org/telegram/hook",
        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        WEBHOOK_SECRET="s3cret-token",
    )
    process = MediabotProcess("run", env, tmp_path / "webhook.log").start()
    chat = Conversation(fake_telegram)
    try:
        process.wait_for_log("webhook server listening")
        registered = fake_telegram.calls_of("setWebhook")[-1]
        assert registered.params["url"] == "https://bot.example.org/telegram/hook"
        assert registered.params["secret_token"] == "s3cret-token"

        hook = f"http://127.0.0.1:{port}/telegram/hook"
        since = len(fake_telegram.calls)
        update = fake_telegram.inject_message(chat.chat_id, "no link here")
        forged = await fake_telegram.post_update_to(hook, update, secret_token="wrong")
        assert forged == 401
        assert await fake_telegram.post_update_to(hook, update, secret_token="s3cret-token") == 200
        reply = await chat.reply(since)
        assert "Send me a link" in reply.params["text"]
    finally:
        assert process.stop() == 0
        fake_telegram.reset()  # forget the webhook: later tests poll
