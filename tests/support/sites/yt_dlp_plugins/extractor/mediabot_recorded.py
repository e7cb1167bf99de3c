"""A yt-dlp plugin for end-to-end tests: YouTube and Instagram answered from recordings.

A `mediabot` process started with `tests/support/sites` on its PYTHONPATH loads it the way
yt-dlp loads any plugin (a PO-token provider, say): its extractors come before yt-dlp's own
and take the same URLs, by the same patterns. Instead of the site, they read
`$MEDIABOT_TEST_RECORDINGS` (JSON: `"youtube:<id>"` or `"instagram:<code>"` -> `{"info": {...}}`
or `{"error": "the site's words"}`) and append each key they are asked for to the file
`$MEDIABOT_TEST_RECORDINGS.log`. An error is raised as yt-dlp's extractors raise theirs, so it
reaches mediabot prefixed with the extractor's name (`[youtube:recorded] <id>: …`).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.extractor.instagram import InstagramIE
from yt_dlp.extractor.youtube import YoutubeIE
from yt_dlp.utils import ExtractorError


class _Recorded(InfoExtractor):
    _SITE = ""
    _REAL: Any = None

    @classmethod
    def suitable(cls, url: str) -> bool:
        return bool(os.environ.get("MEDIABOT_TEST_RECORDINGS")) and cls._REAL.suitable(url)

    @classmethod
    def _match_valid_url(cls, url: str) -> Any:
        return cls._REAL._match_valid_url(url)

    def _real_extract(self, url: str) -> dict[str, Any]:
        video_id = self._match_id(url)
        key = f"{self._SITE}:{video_id}"
        path = Path(os.environ["MEDIABOT_TEST_RECORDINGS"])
        with path.with_name(path.name + ".log").open("a") as log:
            log.write(key + "\n")
        entry = json.loads(path.read_text()).get(key)
        if entry is None:
            raise ExtractorError("Video unavailable. This video is not available", expected=True)
        if "error" in entry:
            raise ExtractorError(entry["error"], expected=True)
        info: dict[str, Any] = copy.deepcopy(entry["info"])
        info.update(id=video_id, webpage_url=url)
        return info


class RecordedYoutubeIE(_Recorded):
    IE_NAME = "youtube:recorded"
    _SITE = "youtube"
    _REAL = YoutubeIE


class RecordedInstagramIE(_Recorded):
    IE_NAME = "instagram:recorded"
    _SITE = "instagram"
    _REAL = InstagramIE
