"""An audio track that fits in one upload."""

from __future__ import annotations

from pathlib import Path

from mediabot.media.thumbnail import best_thumbnail
from mediabot.senders.base import FileTags
from mediabot.senders.single import SingleFileSender
from mediabot.telegram.texts import plain

AUDIO_TAG_LIMIT = 256
"""Longest title or performer shown on an audio track (outside data, cleaned and cut)."""


class AudioSender(SingleFileSender):
    """Sends one audio file with title, performer, duration and the cover as thumbnail."""

    async def _thumbnail(self) -> Path | None:
        if self._cover is None:
            return None
        path = self._item.path
        return await best_thumbnail(path.with_name(f"{path.stem}.tg-cover.jpg"), image=self._cover)

    async def _tags(self) -> FileTags:
        return {
            "title": plain(self._result.title, AUDIO_TAG_LIMIT) or None,
            "performer": plain(self._result.uploader, AUDIO_TAG_LIMIT) or None,
            "duration_s": self._item.duration_s,
        }
