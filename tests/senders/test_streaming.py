"""A located stream delivered as parts: `locate_streams` -> `make_stream_sender` -> `send()`."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram import Bot

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import DownloadOptions, make_downloader
from mediabot.media.probe import probe
from tests.senders.results import stream_sender
from tests.support.disk import listing
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

from .conftest import accepted

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
BENCH = DownloadOptions(allow_private_urls=True)


@pytest.mark.parametrize(
    ("source", "res", "method", "field"),
    [("long_dash_mpd", 720, "sendVideo", "video"), ("long_audio_m4a", 0, "sendAudio", "audio")],
)
async def test_a_located_stream_arrives_as_parts_read_once_from_the_origin(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    tmp_path: Path,
    source: str,
    res: int,
    method: str,
    field: str,
) -> None:
    url = getattr(media, source)
    plan = await make_downloader(url, res, options=BENCH).locate_streams(tmp_path)
    assert plan is not None
    # a direct file's probe reads its head to learn the codecs; measure the delivery alone
    media_requests.reset()
    limit = 2 * MIB if plan.kind is MediaKind.VIDEO else MIB
    sender = stream_sender(
        bot, plan, tmp_path, limit, performer=plan.uploader, cover=plan.thumbnail
    )
    sent = await sender.send()

    calls = accepted(telegram, method)
    assert len(calls) == len(sent) >= 2
    durations = 0.0
    for call, part in zip(calls, sent, strict=True):
        upload = call.file(field)
        assert upload is not None and upload.size == part.size_bytes <= limit
        info = await probe(upload.path)
        assert info.is_playable and info.audio is not None
        durations += info.duration_s or 0
    assert durations == pytest.approx(48.0, abs=1.0)
    assert listing(tmp_path) == []
    # the origin sent the media about once, though ffprobe and ffmpeg each read every window
    assert plan.estimated_bytes is not None
    served = sum(
        request.bytes_sent
        for request in media_requests.requests
        if request.path in {u.removeprefix(media.base_url) for u in map(str, plan.source.inputs)}
    )
    assert served <= 1.6 * plan.estimated_bytes
