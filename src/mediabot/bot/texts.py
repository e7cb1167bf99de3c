"""What the bot says. Short, plain, and something the user can act on.

Every text is looked up in the current locale when it is shown (see `mediabot.i18n`): one small
function per text, calling ``_()`` with the English msgid; a placeholder is ``{name}``, filled
after translation. Texts are HTML (sent with ``parse_mode=HTML``); outside data (URLs, titles)
is put in only through `mediabot.telegram.texts`, which cleans, escapes and cuts it to fit.
"""

from __future__ import annotations

from mediabot.bot.keyboards import default_label, form_label
from mediabot.domain.preferences import Preferences
from mediabot.downloaders.errors import DownloadError
from mediabot.i18n import _
from mediabot.telegram import texts as telegram_texts


def help_text(max_minutes: int, max_items: int) -> str:
    """The answer to /start and /help."""
    return _(
        "Send me a link to a video — YouTube, Instagram, or any of the "
        '<a href="https://github.com/yt-dlp/yt-dlp/blob/master/supportedsites.md">sites yt-dlp '
        "supports</a> — and pick a resolution or audio only. I send the file back here, "
        "however large: big files arrive in parts that each play on their own.\n\n"
        "A playlist link gets one choice for all its items (up to {max_items}), "
        "delivered one after the other.\n\n"
        "Limits: media up to {max_minutes} minutes; live streams are not supported.\n"
        "Several links in one message each get their own buttons.\n\n"
        "/settings: a default instead of choosing each time (e.g. best up to 720p), and "
        "files as documents with their original streams."
    ).format(max_minutes=max_minutes, max_items=max_items)


def no_link() -> str:
    return _("Send me a link to a video, e.g. https://youtu.be/… — I'll offer the resolutions.")


def nothing_to_offer() -> str:
    return _("This link has no video or audio I can send.")


def not_available() -> str:
    return _("This choice is not available any more.")


def cancelled() -> str:
    return _("Cancelled.")


def already_chosen() -> str:
    return _("Already on it.")


def busy_for_a_moment() -> str:
    """Once per outage to a user whose update waits for the database or the broker."""
    return _("⏳ Busy for a moment — your message will be answered shortly.")


def lookup_failed() -> str:
    return _("Sorry, something went wrong while looking up this link. Please try again.")


def too_many_links(limit: int) -> str:
    return _("I take up to {limit} links per message; the rest were skipped.").format(limit=limit)


def group_start() -> str:
    """/start in a group: one line on what the bot answers there (privacy mode on)."""
    return _("In a group I answer links, /dl followed by a link, and replies to my messages.")


def only_the_sender() -> str:
    """A press on someone else's buttons (a short alert)."""
    return _("Only the person who sent this link can use these buttons.")


def not_allowed() -> str:
    return _("Sorry, this bot serves only the people and chats its owner allowed.")


def banned() -> str:
    return _("You can no longer use this bot.")


def sent_on_behalf_of_a_chat() -> str:
    """The answer to a link or command sent anonymously or as a channel."""
    return _(
        "This was sent on behalf of a chat, and the bot serves people: send it as yourself "
        "(not anonymously), or in a private chat with the bot."
    )


def hourly_limit(limit: int, minutes: int, at: str) -> str:
    """The answer to one press too many in an hour; `at` is the time (UTC) to try again."""
    return _(
        "You have reached {limit} downloads an hour. Try again in {minutes} min (at {at} UTC)."
    ).format(limit=limit, minutes=minutes, at=at)


def ban_usage(command: str) -> str:
    return _("Usage: /{command} <user id>").format(command=command)


def ban_done(user_id: int, banned: bool) -> str:
    if banned:
        return _("User {user_id} is banned.").format(user_id=user_id)
    return _("User {user_id} is no longer banned.").format(user_id=user_id)


def unknown_user(user_id: int) -> str:
    return _("No user {user_id} has written to me yet.").format(user_id=user_id)


def stats_report(**figures: object) -> str:
    """/stats as compact HTML; the lists come preformatted (and escaped)."""
    return _(
        "<b>Statistics</b>\n"
        "Users: {users} · active 24 h: {active_day} · 7 days: {active_week}\n"
        "By provider: {providers}\n"
        "By state: {states}\n"
        "Delivered: {delivered} · cache hits {hit_rate} % · {bytes}\n"
        "Median press to file: {median}\n"
        "<b>Most active</b>\n{top_users}\n"
        "<b>Most asked</b>\n{top_media}"
    ).format(**figures)


def queued(position: int) -> str:
    """The answer to a choice: queued, with its place in the line when others wait before it."""
    if not position:
        return _("⏳ Queued…")
    return _("⏳ Queued · position {position}…").format(position=position + 1)


def untitled() -> str:
    return _("Untitled")


def choose(title: str | None) -> str:
    """The offer's text: the title (cleaned, escaped, cut to fit a message) in bold."""
    template = _("<b>{title}</b>\nChoose a resolution or audio only:")
    return telegram_texts.fill_html(template, title=telegram_texts.plain(title) or untitled())


def looking_up(url: str) -> str:
    """The status while a link is looked up; a URL of any length fits a message."""
    return telegram_texts.fill_html(_("🔎 Looking up {url}…"), url=url)


def choose_language() -> str:
    return _("Choose your language:")


def language_chosen() -> str:
    """Said in the language just chosen."""
    return _("I'll speak English with you now.")


def settings(preferences: Preferences) -> str:
    """The /settings message above its buttons: the current values, and what they do."""
    return _(
        "⚙ <b>Settings</b>\n\n"
        "A link alone: <b>{default}</b>\n"
        "Files come: <b>{form}</b>\n\n"
        "With a default, a link is delivered at once, with “⚙ Other choices” under it "
        "to pick something else. As a file: a document with the original streams, which "
        "Telegram does not re-compress."
    ).format(default=default_label(preferences.default), form=form_label(preferences.form))


def settings_saved() -> str:
    return _("Saved.")


def not_your_settings() -> str:
    """A press on someone else's /settings (a short alert)."""
    return _("These are someone else's settings: send /settings for yours.")


def download_refused(error: DownloadError) -> str:
    """A downloader's refusal in the user's language, safe as HTML."""
    return refusal(error.user_message_in(_))


def refusal(reason: str) -> str:
    """A downloader's sentence for the user (it may quote outside data), safe as HTML."""
    return telegram_texts.safe_html(reason, telegram_texts.MESSAGE_LIMIT)


LIST_TITLE_LIMIT = 60
"""A title in a list (/queue, /history, the stack refusal) is cut to this many characters."""


def listed_title(title: str | None) -> str:
    """A title for a list line: cleaned, cut short, HTML-escaped."""
    return telegram_texts.safe_html(title or untitled(), LIST_TITLE_LIMIT)


def state_queued(position: int) -> str:
    return _("queued · position {position}").format(position=position + 1)


def state_starting() -> str:
    return _("starting")


def state_downloading(percent: int | None = None) -> str:
    """Downloading, with how far when the worker has said (`percent`, 0 to 100)."""
    if percent is None:
        return _("downloading")
    return _("downloading {percent} %").format(percent=percent)


def state_uploading(part: int, total: int | None = None) -> str:
    """Uploading part `part` (from 1) of `total` when known; one part is just "uploading"."""
    if total is not None and total > 1:
        return _("uploading part {number}/{total}").format(number=min(part, total), total=total)
    if part <= 1 or total == 1:
        return _("uploading")
    return _("uploading part {number}").format(number=part)


def in_flight_line(number: int, title: str, state: str) -> str:
    """One line of the requests in flight; `title` already made safe (`listed_title`)."""
    return _("{number}. <b>{title}</b> — {state}").format(number=number, title=title, state=state)


def stack_full(limit: int, lines: list[str]) -> str:
    """The answer to one press too many: what is in flight, nothing queued."""
    head = _(
        "You already have {limit} requests in flight; this one was not queued. "
        "Wait for one to finish or cancel one with /queue:"
    ).format(limit=limit)
    return "\n".join([head, *lines])


def stack_full_alert(limit: int) -> str:
    """The short alert on the pressed button when the stack is full."""
    return _("{limit} requests are already in flight; see /queue.").format(limit=limit)


def queue_empty() -> str:
    return _("Nothing in flight. Send me a link to start.")


def queue_header() -> str:
    return _("Your requests in flight, newest first (✖ cancels one):")


def history_empty() -> str:
    return _("Nothing delivered yet. Send me a link to start.")


def history_header(page: int, pages: int) -> str:
    return _("Your delivered files (page {page} of {pages}); a button sends one again:").format(
        page=page, pages=pages
    )


def audio_only() -> str:
    return _("audio")


def history_line(number: int, title: str, what: str, date: str) -> str:
    """One delivered file; `title` already made safe (`listed_title`)."""
    return _("{number}. <b>{title}</b> · {what} · {date}").format(
        number=number, title=title, what=what, date=date
    )


def sending_again() -> str:
    return _("Sending it again…")


def not_yours() -> str:
    return _("This is not your request.")


def clock_time(seconds: float) -> str:
    """A length as a clock shows it: "4:05", "1:02:03"."""
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"


def choose_playlist(
    title: str | None,
    count: int,
    duration_s: float | None,
    total_count: int | None,
    skipped: int,
) -> str:
    """A playlist's offer: its title, how many items and how long, then the choice for all."""
    lines = ["<b>{title}</b>"]
    if duration_s:
        lines.append(
            _("📃 Playlist · items: {count} · {length}").format(
                count=count, length=clock_time(duration_s)
            )
        )
    else:
        lines.append(_("📃 Playlist · items: {count}").format(count=count))
    if total_count is not None and total_count > count:
        lines.append(
            _("Only the first {count} of its {total} items are offered.").format(
                count=count, total=total_count
            )
        )
    if skipped:
        lines.append(
            _("Left out: {skipped} (repeats, nested playlists, items without a link).").format(
                skipped=skipped
            )
        )
    lines.append(_("Choose a resolution (each item at its best up to it) or audio only:"))
    template = "\n".join(lines)
    return telegram_texts.fill_html(template, title=telegram_texts.plain(title) or untitled())


def whole_playlist(count: int) -> str:
    """The button under a video's offer that offers the playlist the link also names."""
    return _("📃 The whole playlist · items: {count}").format(count=count)


def playlist_queued(count: int) -> str:
    """The playlist's status right after the choice."""
    return _("⏳ Playlist queued · items: {count}…").format(count=count)


def playlist_cancelled(delivered: int, total: int) -> str:
    """The playlist's status after its ✖: what had arrived by then."""
    return _("Cancelled. Delivered: {delivered} of {total}.").format(
        delivered=delivered, total=total
    )


def inline_not_configured() -> str:
    return _("Inline mode is not configured")


def inline_not_available() -> str:
    return _("Not available to you")


def inline_send_a_link() -> str:
    return _("Type or paste a video link")


def inline_lookup_failed() -> str:
    return _("Could not look up this link; try the bot's chat")


def inline_playlist() -> str:
    return _("Playlists: send the link in the bot's chat")


def inline_whole_only() -> str:
    return _("Whole videos here; for a clip, send the link in the bot's chat")


def inline_video(height: int) -> str:
    return _("🎬 Video {height}p").format(height=height)


def inline_audio() -> str:
    return _("🎵 Audio only")


def inline_placeholder(title: str | None) -> str:
    """The text an inline result posts while the file is on its way (HTML)."""
    template = _("⏳ Fetching <b>{title}</b>…")
    return telegram_texts.fill_html(template, title=telegram_texts.plain(title) or untitled())


def inline_open_bot() -> str:
    return _("Open the bot")


def inline_sending_parts() -> str:
    return _("Sending the parts here.")
