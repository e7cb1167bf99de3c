"""yt-dlp's own extractor classes of one site, asked about a URL without any request.

The link forms a site has, and where the id sits in each, are yt-dlp's knowledge, kept
current with every release: its extractor classes' `_VALID_URL` patterns, `suitable()`
(which also tells a video from a playlist, e.g. `watch?v=…&list=…`) and `_match_id()`.
mediabot asks them instead of keeping a second, hand-written copy of those patterns.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from yt_dlp.extractor import gen_extractor_classes

Extractor = Any
"""A yt-dlp `InfoExtractor` class (or the lazy stand-in yt-dlp loads it through)."""


class SiteExtractors:
    """The extractor classes yt-dlp defines in `module` (its own, no plugins), in its order."""

    def __init__(self, module: str) -> None:
        self._module = module

    @functools.cached_property
    def classes(self) -> tuple[Extractor, ...]:
        # Lazy stand-ins name their real module in `_module`.
        return tuple(
            ie
            for ie in gen_extractor_classes()
            if str(getattr(ie, "_module", ie.__module__)).startswith(self._module)
        )

    def named(self, class_name: str) -> Extractor:
        """The class called `class_name` (e.g. `YoutubeIE`); KeyError when yt-dlp lost it."""
        for ie in self.classes:
            if ie.__name__ == class_name:
                return ie
        raise KeyError(f"yt-dlp has no {class_name} in {self._module}")

    def first_suitable(self, url: str) -> Extractor | None:
        """The class yt-dlp would pick for `url` among this site's, or None."""
        for ie in self.classes:
            if ie.suitable(url):
                return ie
        return None

    @staticmethod
    def groups(ie: Extractor, url: str) -> dict[str, str]:
        """The named groups `ie`'s own pattern finds in `url` (empty when it does not match).

        The pattern alone, without the class's `suitable()` refinements: `YoutubeIE` still
        finds the video id of `watch?v=ID&list=…`, which it leaves to the playlist class.
        """
        match: re.Match[str] | None = ie._match_valid_url(url)
        if match is None:
            return {}
        return {name: value for name, value in match.groupdict().items() if value}
