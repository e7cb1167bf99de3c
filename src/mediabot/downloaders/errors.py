"""One error hierarchy for everything a download can refuse or fail with.

`user_message` is short and actionable, written for the person who sent the link; it never
carries yt-dlp's raw text. `detail` keeps that raw text for the log.

The messages are English gettext msgids marked with `N_` (this layer knows nothing of the
bot's languages); `user_message_in(_)` translates one where it is shown, then fills its
``{name}`` placeholders with the error's `values`.
"""

from __future__ import annotations

from collections.abc import Callable
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


class NetworkError(DownloadError):
    transient = True
    default_message = N_("The site could not be reached right now; please try again later.")
