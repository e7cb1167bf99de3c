"""The test bench: real services, media made with ffmpeg, a fake Telegram Bot API."""

pytest_plugins = [
    "support.services",
    "support.media_fixtures",
    "support.telegram_fixtures",
]
