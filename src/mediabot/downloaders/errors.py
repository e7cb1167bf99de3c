"""One error hierarchy for everything a download can refuse or fail with.

`user_message` is short and actionable, written for the person who sent the link; it never
carries yt-dlp's raw text. `detail` keeps that raw text for the log.

The messages are English gettext msgids marked with `N_` (this layer knows nothing of the
bot's languages); `user_message_in(_)` translates one where it is shown, then fills its
``{name}`` placeholders with the error's `values`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import ClassVar


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for a marker
    """Marks `message` for the catalogs; it is translated where it is shown."""
    return message


class DownloadError(Exception):
    """A download that cannot be done; `transient` errors are worth retrying later."""

    transient: ClassVar[bool] = False
    default_message: ClassVar[str] = N_("This link could not be downloaded.")

    def __init__(
        self, user_message: str | None = None, *, detail: str = "", **values: object
    ) -> None:
        self.message_id = user_message or self.default_message
        """The English msgid, placeholders unfilled."""
        self.values = values
        self.user_message = self.user_message_in(str)
        """The message in English, filled (for logs and the command line)."""
        self.detail = detail or self.user_message
        super().__init__(self.user_message)

    def user_message_in(self, translate: Callable[[str], str]) -> str:
        """The message through `translate` (e.g. `mediabot.i18n._`), placeholders filled."""
        text = translate(self.message_id)
        return text.format(**self.values) if self.values else text

    def __str__(self) -> str:
        if self.detail and self.detail != self.user_message:
            return f"{self.user_message} ({self.detail})"
        return self.user_message


class UnsupportedLinkError(DownloadError):
    default_message = N_(
        "This link is not supported: send a video link from YouTube, Instagram "
        "or another video site."
    )


class PlaylistLinkError(UnsupportedLinkError):
    """The link is a playlist: a single download does not take it, a playlist offer does."""

    default_message = N_("This link is a playlist: send a link to one of its videos.")


class PrivateAddressError(DownloadError):
    default_message = N_("This link points to a private or local network address and was refused.")


class PrivateOrRemovedError(DownloadError):
    default_message = N_("This media is private or has been removed.")


class LoginRequiredError(DownloadError):
    default_message = N_("This media needs a signed-in account; the bot cannot access it.")


class GeoBlockedError(DownloadError):
    default_message = N_("This media is not available in the bot's country.")


class LiveStreamError(DownloadError):
    default_message = N_(
        "Live streams and premieres cannot be downloaded; try again once it has ended."
    )


class TooLongError(DownloadError):
    default_message = N_("This media is too long to download.")


class NotMediaError(DownloadError):
    """The link answers with something that is not a video or audio file (a page, an archive)."""

    default_message = N_("This link is not a video or audio file.")


class StalledError(DownloadError):
    """The source stopped sending, or sends too slowly to finish; not retried by itself."""

    default_message = N_("The source is sending too slowly; try again later.")


class NotFoundError(DownloadError):
    default_message = N_("Nothing to download was found at this link; check that it is correct.")


class UnavailableResolutionError(DownloadError):
    default_message = N_("This resolution is not available for this media; pick another one.")


class TooManyRedirectsError(DownloadError):
    """The link sends the client from address to address past the redirect limit."""

    default_message = N_(
        "This link redirects too many times to be followed; check it, or send the address "
        "it finally leads to."
    )


class NetworkError(DownloadError):
    transient = True
    default_message = N_("The site could not be reached right now; please try again later.")


class PushBack(StrEnum):
    """The ways YouTube and Instagram refuse the bot itself, each fixed by its operator."""

    YOUTUBE_BOT_CHECK = "youtube_bot_check"
    YOUTUBE_AGE = "youtube_age"
    YOUTUBE_MEMBERS = "youtube_members"
    INSTAGRAM_LOGIN = "instagram_login"
    INSTAGRAM_RATE_LIMIT = "instagram_rate_limit"


class SitePushBackError(DownloadError):
    """The site refused the bot (a bot check, a login wall, a rate limit), not the link.

    The user gets `user_message`; the bot's admins get `admin_hint` (what to configure),
    once an hour per `push_back`.
    """

    push_back: ClassVar[str]
    """The kind of refusal, named after its site (`youtube_bot_check`): one warning an hour
    per kind goes to the admins. The sites mediabot ships with use `PushBack`."""
    admin_hint: ClassVar[str]


class YouTubeBotCheckError(SitePushBackError):
    push_back = PushBack.YOUTUBE_BOT_CHECK
    default_message = N_(
        "YouTube is asking the bot to prove it is not a robot, so it cannot fetch videos "
        "right now. The bot's admins have been told; please try again later."
    )
    admin_hint = N_(
        "YouTube answers “Sign in to confirm you’re not a bot”. Give the bot YouTube "
        "cookies of a signed-in account (YOUTUBE_COOKIES_FILE), send YouTube through "
        "another address (YOUTUBE_PROXY_URL or PROXY_URL), or install a PO-token provider "
        "(pip install 'mediabot[pot]', see the README)."
    )


class YouTubeAgeRestrictedError(SitePushBackError):
    push_back = PushBack.YOUTUBE_AGE
    default_message = N_(
        "This video is age-restricted: YouTube shows it only to signed-in adults, "
        "and the bot is not signed in."
    )
    admin_hint = N_(
        "An age-restricted YouTube video was asked for. To serve these, set "
        "YOUTUBE_COOKIES_FILE to cookies of a signed-in account whose age is verified."
    )


class YouTubeMembersOnlyError(SitePushBackError):
    push_back = PushBack.YOUTUBE_MEMBERS
    default_message = N_("This video is for the channel's members only.")
    admin_hint = N_(
        "A members-only YouTube video was asked for. The bot can fetch these only with "
        "YOUTUBE_COOKIES_FILE holding cookies of an account that is a member of the channel."
    )


class InstagramLoginError(SitePushBackError):
    push_back = PushBack.INSTAGRAM_LOGIN
    default_message = N_(
        "Instagram shows this post only to signed-in users, and the bot is not signed in."
    )
    admin_hint = N_(
        "Instagram asks the bot to log in. Set INSTAGRAM_COOKIES_FILE to cookies of a "
        "signed-in Instagram account (a spare one: it may be blocked)."
    )


class InstagramRateLimitError(SitePushBackError):
    transient = True
    push_back = PushBack.INSTAGRAM_RATE_LIMIT
    default_message = N_(
        "Instagram is limiting the bot's requests right now; please try again in a while."
    )
    admin_hint = N_(
        "Instagram rate-limits the bot's anonymous requests. Set INSTAGRAM_COOKIES_FILE "
        "(a signed-in account) or send Instagram through another address "
        "(INSTAGRAM_PROXY_URL or PROXY_URL)."
    )


def rebuild(name: str, message_id: str, values: dict[str, object], detail: str) -> DownloadError:
    """The error a lookup elsewhere ended in (`domain.lookups.Refused`), as raised there:
    its class found by name here (`DownloadError` for a name this release does not know)."""
    cls = globals().get(name)
    if not (isinstance(cls, type) and issubclass(cls, DownloadError)):
        cls = DownloadError
    return cls(message_id, detail=detail, **values)
