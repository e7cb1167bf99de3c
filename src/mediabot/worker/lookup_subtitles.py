"""The answer to a press on "💬 subtitles": the link's subtitles sent as an `.srt` document.

A lookup-lane request of its own kind (`LookupKind.SUBTITLES`, one link and the clip of the
offer pressed): the link is probed again (subtitle URLs are not kept with the offer: some
sites' expire), the track chosen for the requester's language (theirs where the source has
it, else the original: `downloaders.subtitles.choose_subtitles`), converted to SRT, cut to
the clip when there is one (from its asked start: a copied clip starts up to a keyframe
interval earlier), and sent as a document replying to the offer. A source without
subtitles, or whose file cannot be read, gets one plain line.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import FSInputFile, ReplyParameters

from mediabot.db.models import LookupRequest
from mediabot.domain.clips import Clip, clip_of_key
from mediabot.downloaders.errors import DownloadError
from mediabot.downloaders.subtitles import SubtitleTrack
from mediabot.media.subtitles import SubtitleError

logger = logging.getLogger(__name__)

FetchSubtitles = Callable[[str, str, Path, Clip | None], Awaitable[SubtitleTrack | None]]
"""`(url, user language, path, clip) -> the track written to path as SRT, or None`."""


class SubtitlesView(Protocol):
    """The bot's words for subtitles (`bot/clip_texts.py`, through `bot/offers.py`)."""

    def subtitles_caption(self, language: str, automatic: bool) -> str: ...
    def no_subtitles(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SubtitleReplies:
    """Sends a subtitles request's `.srt`, or says there is none; never raises for
    Telegram's refusals (logged). The caller sets the requester's language."""

    bot: Bot
    fetch: FetchSubtitles
    view: SubtitlesView

    async def answer(self, request: LookupRequest) -> None:
        """Send the track, or say there is none. Raises only before its one message is sent
        (the fetch failed unexpectedly): the send's own failure is logged, never raised."""
        chat_id = request.telegram_chat_id
        assert chat_id is not None
        keys = request.clips or [None]
        clip = clip_of_key(keys[0]) if keys[0] else None
        reply = (
            ReplyParameters(message_id=request.message_id, allow_sending_without_reply=True)
            if request.message_id is not None
            else None
        )
        with tempfile.TemporaryDirectory(prefix="mediabot-subtitles-") as folder:
            path = Path(folder) / "subtitles.srt"
            try:
                track = await self.fetch(request.urls[0], request.locale, path, clip)
            except (DownloadError, SubtitleError) as exc:
                logger.info("subtitles of %s: %s", request.urls[0], exc)
                track = None
            try:
                if track is None:
                    await self.bot.send_message(
                        chat_id=chat_id,
                        text=self.view.no_subtitles(),
                        message_thread_id=request.message_thread_id,
                        reply_parameters=reply,
                    )
                    return
                await self.bot.send_document(
                    chat_id=chat_id,
                    document=FSInputFile(path, filename=f"subtitles.{track.language}.srt"),
                    caption=self.view.subtitles_caption(track.language, track.automatic),
                    parse_mode=ParseMode.HTML,
                    message_thread_id=request.message_thread_id,
                    reply_parameters=reply,
                )
                logger.info(
                    "subtitles of %s sent: %s%s",
                    request.urls[0],
                    track.language,
                    " (automatic)" if track.automatic else "",
                )
            except TelegramAPIError as exc:
                logger.warning("chat %s: sending subtitles failed (%s)", chat_id, exc.message)
            except Exception:
                logger.exception("chat %s: sending subtitles failed", chat_id)
