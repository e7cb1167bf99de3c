"""mediabot: a Telegram bot that sends back the video or audio behind a link."""

# The one place the version is written; pyproject.toml reads it from here.
__version__ = "0.1.0"
