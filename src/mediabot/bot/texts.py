"""What the bot says. Short, plain, and something the user can act on.

Texts are HTML (sent with ``parse_mode=HTML``); outside data (URLs, titles) is put in
only through `mediabot.telegram.texts`, which cleans, escapes and cuts it to fit.
"""

from __future__ import annotations

from mediabot.telegram import texts as telegram_texts

HELP = (
    "Send me a link to a video — YouTube, Instagram, or any of the "
    '<a href="https://github.com/yt-dlp/yt-dlp/blob/master/supportedsites.md">sites yt-dlp '
    "supports</a> — and pick a resolution or audio only. I send the file back here, "
    "however large: big files arrive in parts that each play on their own.\n\n"
    "Limits: media up to {max_minutes} minutes; live streams and playlists are not supported.\n"
    "Several links in one message each get their own buttons."
)
NO_LINK = "Send me a link to a video, e.g. https://youtu.be/… — I'll offer the resolutions."
LOOKING_UP = "🔎 Looking up {url}…"
CHOOSE = "<b>{title}</b>\nChoose a resolution or audio only:"
NOTHING_TO_OFFER = "This link has no video or audio I can send."
NOT_AVAILABLE = "This choice is not available any more."
CANCELLED = "Cancelled."
ALREADY_CHOSEN = "Already on it."
QUEUED = "⏳ Queued{position}…"
QUEUE_UNAVAILABLE = "The download queue is not available right now; please try again in a minute."
LOOKUP_FAILED = "Sorry, something went wrong while looking up this link. Please try again."
TOO_MANY_LINKS = "I take up to {limit} links per message; the rest were skipped."


def queued(position: int) -> str:
    return QUEUED.format(position=f" · position {position + 1}" if position else "")


def choose(title: str | None) -> str:
    """The offer's text: the title (cleaned, escaped, cut to fit a message) in bold."""
    return telegram_texts.fill_html(CHOOSE, title=telegram_texts.plain(title) or "Untitled")


def looking_up(url: str) -> str:
    """The status while a link is looked up; a URL of any length fits a message."""
    return telegram_texts.fill_html(LOOKING_UP, url=url)


def refusal(reason: str) -> str:
    """A downloader's sentence for the user (it may quote outside data), safe as HTML."""
    return telegram_texts.safe_html(reason, telegram_texts.MESSAGE_LIMIT)
