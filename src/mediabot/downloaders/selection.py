"""What was asked of a link (a height, audio only, the best video, a post's photos) and the
`Execution` that does it, chosen from what the probe found."""

from __future__ import annotations

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
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.probing import Probing


class Selection(Probing):
    """A link and what is wanted of it; `_execution_for` refuses what the media cannot give."""

    def __init__(
        self,
        url: str,
        res: int | None = 0,
        *,
        options: DownloadOptions | None = None,
        kind: MediaKind | None = None,
    ) -> None:
        res = res or 0
        if res < 0:
            raise ValueError(f"resolution must be a height in pixels or 0, not {res}")
        if kind is MediaKind.AUDIO and res:
            raise ValueError("audio only takes no resolution")
        self._url = url.strip()
        self._res = res
        self._options = options or DownloadOptions()
        self._kind = kind

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
