"""The duration limit, one message wherever a media's length is learnt."""

from __future__ import annotations

import dataclasses

from mediabot.downloaders.errors import N_, TooLongError
from mediabot.downloaders.options import DownloadOptions


@dataclasses.dataclass(frozen=True, slots=True)
class DurationLimit:
    """The longest media accepted: called with a duration, raises `TooLongError` over it.

    One message wherever the length is learnt: at lookup (what the source declares or
    ffprobe reads), in the downloaded files, and in a stream before its first part.
    """

    limit_s: int

    @classmethod
    def of(cls, options: DownloadOptions) -> DurationLimit | None:
        return cls(options.max_duration_s) if options.max_duration_s is not None else None

    def __call__(self, duration_s: float) -> None:
        if duration_s > self.limit_s:
            raise TooLongError(
                N_("This media is {minutes} min long; the limit is {limit} min."),
                detail=f"duration {duration_s:.0f}s > {self.limit_s}s",
                minutes=f"{duration_s / 60:.0f}",
                limit=self.limit_s // 60,
            )
