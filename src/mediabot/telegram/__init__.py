"""The Telegram Bot API client: the aiogram bot, its session, pacing and retries."""
