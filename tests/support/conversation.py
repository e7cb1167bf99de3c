"""A user talking to the bot through the fake Bot API."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

from tests.support.fake_telegram import ApiCall, FakeTelegram

_chat_ids = itertools.count(700_000_001)


@dataclass(frozen=True)
class Keyboard:
    message_id: int
    buttons: dict[str, str]
    """Button text -> callback data, in order."""

    def data(self, starts_with: str) -> str:
        for text, data in self.buttons.items():
            if text.startswith(starts_with):
                return data
        raise AssertionError(f"no button {starts_with!r} in {list(self.buttons)}")


def buttons_of(call: ApiCall) -> dict[str, str]:
    """The inline keyboard a call sent: button text -> callback data, in order (none: {})."""
    markup = json.loads(call.params.get("reply_markup") or "{}")
    return {
        button["text"]: button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
    }


class Conversation:
    """One private chat with its own fresh chat id, so tests never see each other's calls."""

    def __init__(self, telegram: FakeTelegram, chat_id: int | None = None) -> None:
        self.telegram = telegram
        self.chat_id = chat_id if chat_id is not None else next(_chat_ids)

    def in_chat(self, call: ApiCall) -> bool:
        return call.params.get("chat_id") == str(self.chat_id)

    def calls(self, *methods: str) -> list[ApiCall]:
        return [call for call in self.telegram.calls_of(*methods) if self.in_chat(call)]

    def say(self, text: str) -> int:
        """Send a message; returns the index of calls to search from."""
        mark = len(self.telegram.calls)
        self.telegram.inject_message(self.chat_id, text)
        return mark

    async def reply(self, since: int, within: float = 30) -> ApiCall:
        """The bot's next text in this chat: a new message or an edit."""
        return await self.telegram.wait_for(
            lambda call: (
                self.in_chat(call)
                and call.method in ("sendMessage", "editMessageText")
                and call.ok
                and "Looking up" not in call.params.get("text", "")
            ),
            within,
            since=since,
        )

    async def keyboard(self, since: int, within: float = 30) -> Keyboard:
        """The next message with buttons: the answer itself (a quick lookup), or the
        placeholder edited into it."""
        call = await self.telegram.wait_for(
            lambda call: (
                self.in_chat(call)
                and call.method in ("sendMessage", "editMessageText")
                and call.ok
                and "inline_keyboard" in call.params.get("reply_markup", "")
            ),
            within,
            since=since,
        )
        return Keyboard(int(call.result["message_id"]), buttons_of(call))

    def press(self, keyboard: Keyboard, data: str) -> int:
        mark = len(self.telegram.calls)
        self.telegram.inject_callback(self.chat_id, keyboard.message_id, data)
        return mark

    async def media(self, since: int, within: float = 60) -> ApiCall:
        """The next file in this chat: a successful media send, or a message of the bot's
        edited into the file (`ApiCall.sent_file` says which file either way)."""
        return await self.telegram.wait_for(
            lambda call: (
                self.in_chat(call)
                and call.method
                in (
                    "sendVideo",
                    "sendAudio",
                    "sendPhoto",
                    "sendMediaGroup",
                    "sendDocument",
                    "editMessageMedia",
                )
                and call.ok
            ),
            within,
            since=since,
        )

    async def final_text(self, since: int, containing: str, within: float = 60) -> ApiCall:
        return await self.telegram.wait_for(
            lambda call: (
                self.in_chat(call)
                and call.method in ("sendMessage", "editMessageText")
                and containing in call.params.get("text", "")
            ),
            within,
            since=since,
        )
