"""Self-tests of the test bench: media factory, media server, fake Telegram Bot API."""
