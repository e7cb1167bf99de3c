"""What a lookup found, kept with the offer: a press soon after extracts nothing again.

Every extraction goes through `Downloader._extract_info` (yt-dlp's `extract_info`), which
the tests count; the offer goes through its JSON form, as the database keeps it.
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from mediabot.domain.offer import Offer
from mediabot.downloaders import (
    DownloadOptions,
    PrivateAddressError,
    get_resolutions,
    make_downloader,
)
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.found import FOUND_TTL_S, fresh, keep
from mediabot.downloaders.ytdl import YtdlSession
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

pytestmark = pytest.mark.integration

OPEN = DownloadOptions(allow_private_urls=True)


@pytest.fixture
def extractions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs yt-dlp is asked to extract, in order."""
    seen: list[str] = []
    original = Downloader._extract_info.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Downloader], url: str, session: YtdlSession) -> dict[str, Any]:
        seen.append(url)
        return original(cls, url, session)  # type: ignore[no-any-return]

    monkeypatch.setattr(Downloader, "_extract_info", classmethod(counted))
    return seen


async def _stored_offer(url: str) -> Offer:
    options = await get_resolutions(url, OPEN)
    return Offer.model_validate(Offer.of(options).model_dump(mode="json"))


async def test_a_press_on_a_fresh_offer_streams_without_a_second_extraction(
    media: MediaSources, extractions: list[str]
) -> None:
    offer = await _stored_offer(media.long_dash_mpd)
    assert len(extractions) == 1

    downloader = make_downloader(media.long_dash_mpd, 720, options=OPEN, found=offer.found)
    plan = await downloader.locate_streams()

    assert plan is not None and len(plan.source.inputs) == 2  # type: ignore[union-attr]
    assert downloader.reused_lookup
    assert len(extractions) == 1


async def test_a_press_on_a_fresh_offer_downloads_without_a_second_extraction(
    media: MediaSources, extractions: list[str], tmp_path: Path
) -> None:
    offer = await _stored_offer(media.progressive_mp4)
    result = await make_downloader(
        media.progressive_mp4, 360, options=OPEN, found=offer.found
    ).download(tmp_path)
    assert result.items and result.items[0].size_bytes > 0
    assert len(extractions) == 1


async def test_a_segmented_manifests_offer_keeps_its_fragments_as_runs(
    media: MediaSources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clip source's DASH timeline (300 numbered segments a track) travels as runs,
    and a press reads the very fragments yt-dlp listed."""
    listed: list[dict[str, Any]] = []
    original = Downloader._extract_info.__func__  # type: ignore[attr-defined]

    def kept_aside(cls: type[Downloader], url: str, session: YtdlSession) -> dict[str, Any]:
        info: dict[str, Any] = original(cls, url, session)
        listed.append({fmt["format_id"]: fmt.get("fragments") for fmt in info["formats"]})
        return info

    monkeypatch.setattr(Downloader, "_extract_info", classmethod(kept_aside))
    offer = await _stored_offer(media.clip["dash"])
    assert offer.found is not None
    packed = json.loads(zlib.decompress(base64.b64decode(offer.found["packed"])))
    assert all("fragment_runs" in fmt for fmt in packed["formats"])
    assert len(offer.found["packed"]) < 4_000

    kept = fresh(offer.found)
    assert kept is not None
    assert listed == [{fmt["format_id"]: fmt["fragments"] for fmt in kept["formats"]}]
    assert all(len(fragments) > 300 for fragments in listed[0].values())


async def test_an_old_offer_is_looked_up_again(media: MediaSources, extractions: list[str]) -> None:
    offer = await _stored_offer(media.long_audio_m4a)
    assert offer.found is not None
    old = {**offer.found, "at": time.time() - FOUND_TTL_S - 1}
    downloader = make_downloader(media.long_audio_m4a, 0, options=OPEN, found=old)
    assert await downloader.locate_streams() is not None
    assert not downloader.reused_lookup
    assert len(extractions) == 2


async def test_a_stream_declined_then_downloaded_looks_up_once(
    media: MediaSources, extractions: list[str], tmp_path: Path
) -> None:
    downloader = make_downloader(media.hls_master, 360, options=OPEN)
    await downloader.locate_streams()
    await downloader.download(tmp_path)
    assert len(extractions) == 1


def test_an_address_about_to_expire_is_not_trusted() -> None:
    now = time.time()
    soon = {"formats": [{"url": f"https://r.example/v?expire={int(now + 60)}&x=1"}]}
    later = {"formats": [{"url": f"https://r.example/v?expire={int(now + 3600)}"}]}
    assert fresh(keep(soon, now), now) is None
    assert fresh(keep(later, now), now) is not None
    assert fresh(keep(later, now), now + FOUND_TTL_S + 1) is None
    assert fresh(keep({"subtitles": {"en": []}, "id": "a"}, now), now) == {"id": "a"}
    unparsed = {"formats": [{"url": "https://[r.example/v?expire=1"}]}
    assert fresh(keep(unparsed, now), now) == unparsed  # says no expiry it can be held to


def test_a_long_manifests_fragments_travel_packed_and_come_back_whole() -> None:
    """A megabyte of fragments is kept in a few dozen kilobytes, and unpacks as it was."""
    now = time.time()
    fragments = [{"path": f"v-{n * 200}.m4s", "duration": 0.2} for n in range(20_000)]
    info = {"id": "a", "formats": [{"format_id": "v", "fragments": fragments}]}
    kept = keep(info, now)
    assert len(json.dumps(kept)) < 1_000 < 800_000 < len(json.dumps(info))
    assert fresh(json.loads(json.dumps(kept)), now) == info


@pytest.mark.parametrize(
    "found",
    [
        {"at": 0.0, "info": {"id": "a"}},
        {"at": 0.0, "packed": "not base64!"},
        {"at": 0.0, "packed": "bm90IGRlZmxhdGVk"},
        {"at": 0.0, "packed": base64.b64encode(zlib.compress(b"[1, 2]")).decode()},
        {"at": 0.0, "packed": base64.b64encode(zlib.compress(b"{")).decode()},
        {"at": 0.0, "packed": base64.b64encode(zlib.compress(b'{"formats":5}')).decode()},
        {"at": 0.0, "packed": base64.b64encode(zlib.compress(b"[" * 10**5)).decode()},
    ],
    ids=[
        "unpacked",
        "not-base64",
        "not-deflated",
        "not-an-object",
        "not-json",
        "formats-not-a-list",
        "too-deep",
    ],
)
def test_a_found_that_does_not_unpack_is_looked_up_again(found: dict[str, Any]) -> None:
    assert fresh(found, now=1.0) is None


async def test_a_clips_press_reads_the_offers_addresses_through_the_guard(
    media: MediaSources, extractions: list[str], trap: MediaServer
) -> None:
    """An offer's addresses are read as a lookup's are: one that leads to a private
    network (here 127.0.0.2, the trap) is refused, whatever the offer says."""
    offer = await _stored_offer(media.progressive_mp4)
    assert offer.found is not None
    info = fresh(offer.found)
    assert info is not None
    formats = [
        {**fmt, "url": str(fmt["url"]).replace("127.0.0.1", "127.0.0.2")} for fmt in info["formats"]
    ]
    tampered = keep({**info, "formats": formats}, offer.found["at"])
    guarded = DownloadOptions(allowed_private_networks=("127.0.0.1/32",))
    downloader = make_downloader(
        media.progressive_mp4, 360, options=guarded, found=tampered, clip=True
    )
    with pytest.raises(PrivateAddressError):
        await downloader.locate_streams()
    assert downloader.reused_lookup and len(extractions) == 1
    assert trap.requests == []
