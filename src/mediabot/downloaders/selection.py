"""What was asked of a link (a height, audio only, the best video, a post's photos) and the
`Execution` that does it, chosen from what the probe found (or what the offer's lookup found,
while it is fresh: `_info`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import formats
from mediabot.downloaders.errors import N_, NotFoundError, UnavailableResolutionError
from mediabot.downloaders.executions import (
    AudioExecution,
    Execution,
    PhotoExecution,
    VideoExecution,
)
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.found import fresh, keep
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.probing import Probing

if TYPE_CHECKING:
    from mediabot.downloaders.ytdl import YtdlSession

logger = logging.getLogger(__name__)


class Selection(Probing):
    """A link and what is wanted of it; `_execution_for` refuses what the media cannot give."""

    def __init__(
        self,
        url: str,
        res: int | None = 0,
        *,
        options: DownloadOptions | None = None,
        kind: MediaKind | None = None,
        found: Mapping[str, Any] | None = None,
        clip: bool = False,
    ) -> None:
        """`found`: what a lookup of `url` found (`downloaders.found`), used instead of a
        second lookup while it is fresh (once: `reused_lookup` tells it was). `clip`: its
        streams are for the clip cutter, which takes the sound alone out of a file that
        holds the picture too (`locate_streams`)."""
        res = res or 0
        if res < 0:
            raise ValueError(f"resolution must be a height in pixels or 0, not {res}")
        if kind is MediaKind.AUDIO and res:
            raise ValueError("audio only takes no resolution")
        self._url = url.strip()
        self._res = res
        self._options = options or DownloadOptions()
        self._kind = kind
        self._found = found
        self._clip = clip
        self._own_lookup = found is None
        self.reused_lookup = False

    async def _info(self, session: YtdlSession) -> InfoDict:
        """What a lookup found while it is fresh: the offer's, or this downloader's own
        earlier one (`locate_streams` then `download` look up once); else a lookup."""
        kept = fresh(self._found)
        if kept is None:
            info = await self._probe(self._url, session)
            self._found, self._own_lookup = keep(info), True
            return info
        if not self._own_lookup and not self.reused_lookup:
            # the offer's: the link and the limits are checked as a lookup checks them
            self._check_link(self._url)
            session.precheck(self._source_url(self._url))
            self._enforce_limits(kept, session.options)
            self.reused_lookup = True
            logger.info("Using what the offer's lookup found for %s", self._url)
        return kept

    def _execution_for(self, info: InfoDict) -> Execution:
        post = formats.is_collection(info) or formats.is_photo(info)
        if post or self._kind is MediaKind.PHOTO:
            if not post:
                raise NotFoundError(
                    N_("This link has no photos."), detail="photos asked of a video"
                )
            return PhotoExecution()
        if self._res:
            available = formats.heights(info)
            if self._res not in available:
                offered = ", ".join(f"{height}p" for height in available) or "—"
                raise UnavailableResolutionError(
                    N_("{height}p is not available for this media (available: {offered})."),
                    detail=f"asked {self._res}, heights {available}",
                    height=self._res,
                    offered=offered,
                )
            return VideoExecution(self._res)
        if self._kind is MediaKind.VIDEO:
            if not formats.has_video(info):
                raise NotFoundError(N_("This media has no video."), detail="video asked of audio")
            return VideoExecution(None)
        if not formats.has_audio(info):
            raise NotFoundError(
                N_("This media has no sound."), detail="audio asked of silent media"
            )
        return AudioExecution()
