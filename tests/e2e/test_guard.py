"""The private-network guard, end to end: a loopback link with ALLOW_PRIVATE_URLS unset."""

from __future__ import annotations

from pathlib import Path

from support.conversation import Conversation
from support.fake_telegram import FakeTelegram
from support.media import MediaSources
from support.media_server import MediaServer
from support.processes import MediabotProcess, mediabot_env


async def test_a_private_network_link_is_refused_without_a_request(
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    tmp_path: Path,
) -> None:
    """The bench's loopback link, with ALLOW_PRIVATE_URLS unset: refused, nothing fetched."""
    env = mediabot_env(fake_telegram, tmp_path, ALLOW_PRIVATE_URLS="false")
    guarded = MediabotProcess("run", env, tmp_path / "guarded.log")
    chat = Conversation(fake_telegram)
    guarded.start()
    try:
        guarded.wait_for_log("mediabot started")
        reply = await chat.reply(chat.say(media.progressive_mp4))
    finally:
        assert guarded.stop() == 0
    assert "inline_keyboard" not in reply.params.get("reply_markup", "")
    assert "private" in reply.params["text"].lower() or "local" in reply.params["text"].lower()
    assert media_requests.request_count() == 0
