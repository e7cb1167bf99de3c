"""`Downloaders` over the downloaders' registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import get_resolutions, make_downloader
from mediabot.worker.ports import Downloader
from mediabot.worker.request import Request


@dataclass(frozen=True, slots=True)
class RegistryDownloaders:
    """`Downloaders` over the downloaders' registry."""

    options: DownloadOptions

    def __call__(self, request: Request, found: Mapping[str, Any] | None = None) -> Downloader:
        return make_downloader(
            request.url, request.resolution, options=self.options, kind=request.kind, found=found
        )

    async def heights(self, url: str) -> tuple[int, ...]:
        return (await get_resolutions(url, self.options)).heights

    def for_clip(self, request: Request, found: Mapping[str, Any] | None = None) -> Downloader:
        unlimited = replace(self.options, max_duration_s=None)
        return make_downloader(
            request.url,
            request.resolution,
            options=unlimited,
            kind=request.kind,
            found=found,
            clip=True,
        )

    def clip_over_limit(self, clip_s: float) -> bool:
        limit = self.options.max_duration_s
        return limit is not None and clip_s > limit
