"""mediabot: a Telegram bot that sends back the video or audio behind a link."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mediabot")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
