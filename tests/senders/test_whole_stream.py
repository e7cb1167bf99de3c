"""A remote source that fits one upload goes up as one file while it is fetched.

Every kind a site serves is delivered through the fake Bot API from the loopback media
server: a progressive MP4, a DASH pair of plain files, a DASH SegmentBase pair (fragmented
files with a `sidx`, as YouTube serves them), segmented DASH, HLS fMP4 and audio only.
Each arrives as one file that decodes without an error, has its `moov` before its `mdat`
and the source's duration; the work folder is empty afterwards.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram import Bot

from mediabot.domain.enums import MediaKind
from mediabot.domain.preferences import DeliveryForm
from mediabot.downloaders import DownloadOptions, make_downloader
from mediabot.downloaders.streams import StreamGuard, StreamPlan
from mediabot.media.fragments.playlist import FragmentTrack
from mediabot.media.probe import probe
from mediabot.media.sources import SegmentedSource, SplitSource
from mediabot.senders.base import DeliveryError, SendTarget, SentPart
from mediabot.senders.registry import make_stream_sender
from tests.support.disk import eventually
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.parts import check_one_file
from tests.support.segment_base import segment_base

from .conftest import accepted

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
LIMIT = 50 * MIB
OPEN = DownloadOptions(allow_private_urls=True)


async def _located(url: str, res: int, tmp_path: Path) -> StreamPlan:
    plan = await make_downloader(url, res, options=OPEN).locate_streams()
    assert plan is not None
    return plan


async def _deliver(
    bot: Bot,
    source: SplitSource | SegmentedSource,
    work: Path,
    form: DeliveryForm = DeliveryForm.MEDIA,
) -> list[SentPart]:
    sender = make_stream_sender(
        bot,
        source,
        SendTarget.for_media(77, "whole", "https://example.com/v"),
        work_dir=work,
        limit_bytes=LIMIT,
        title="whole",
        form=form,
        whole_first=True,
    )
    return await sender.send()


@pytest.mark.parametrize(
    ("kind", "res"),
    [
        ("progressive", 360),
        ("pair", 720),
        ("segment-base", 720),
        ("dash", 360),
        ("hls-fmp4", 360),
        ("audio", 0),
    ],
)
async def test_each_kind_goes_up_as_one_file_index_first(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_server: MediaServer,
    tmp_path: Path,
    kind: str,
    res: int,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    if kind == "segment-base":
        source: SplitSource | SegmentedSource = segment_base(media, media_server, tmp_path, OPEN)
        duration = 48.0
    else:
        url = {
            "progressive": media.progressive_mp4,
            "pair": media.long_dash_mpd,
            "dash": media.segmented["dash"],
            "hls-fmp4": media.segmented["hls-fmp4"],
            "audio": media.long_audio_m4a,
        }[kind]
        plan = await _located(url, res, tmp_path)
        source = plan.source
        reference = {
            "progressive": media.progressive_mp4,
            "pair": media.long_mp4,
            "dash": media.segmented["dash"].replace("dash/manifest.mpd", "source.mp4"),
            "hls-fmp4": media.segmented["dash"].replace("dash/manifest.mpd", "source.mp4"),
            "audio": media.long_audio_m4a,
        }[kind]
        duration = (await probe(media.path(reference))).duration_s or 0.0

    sent = await _deliver(bot, source, work)

    method, field = ("sendAudio", "audio") if kind == "audio" else ("sendVideo", "video")
    calls = accepted(telegram, method)
    assert len(sent) == len(calls) == 1
    upload = calls[0].file(field)
    assert upload is not None and upload.size == sent[0].size_bytes
    assert "Part" not in (calls[0].params.get("caption") or "")
    await check_one_file(upload.path, duration)
    assert _listing(work) == []


async def test_a_document_goes_up_as_one_file_while_it_is_fetched(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    plan = await _located(media.long_dash_mpd, 720, tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    sent = await _deliver(bot, plan.source, work, DeliveryForm.DOCUMENT)

    calls = accepted(telegram, "sendDocument")
    assert len(sent) == len(calls) == 1 and not telegram.calls_of("sendVideo")
    assert calls[0].params.get("disable_content_type_detection") in (True, "true")
    upload = calls[0].file("document")
    assert upload is not None and upload.size == sent[0].size_bytes
    await check_one_file(upload.path, (await probe(media.path(media.long_mp4))).duration_s or 0.0)
    assert _listing(work) == []


async def test_a_local_server_gets_the_complete_file_by_its_path(
    local_bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    plan = await _located(media.long_dash_mpd, 720, tmp_path)

    sent = await _deliver(local_bot, plan.source, tmp_path)

    call = accepted(telegram, "sendVideo")[0]
    assert call.params["video"].startswith("file://")
    assert sent[0].size_bytes > 8 * MIB
    assert _listing(tmp_path) == []


async def test_an_mpeg_ts_source_is_cut_the_usual_way(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    plan = await _located(media.segmented["hls-ts"], 360, tmp_path)

    sent = await _deliver(bot, plan.source, tmp_path)

    upload = accepted(telegram, "sendVideo")[0].file("video")
    assert len(sent) == 1 and upload is not None
    await check_one_file(upload.path, 40.0)


async def test_a_413_sends_parts_under_a_lower_limit(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    plan = await _located(media.long_dash_mpd, 720, tmp_path)
    telegram.upload_limit_bytes = 5 * MIB  # Telegram's real limit is lower than ours

    sent = await _deliver(bot, plan.source, tmp_path)

    refused = [call for call in telegram.calls_of("sendVideo") if call.status == 413]
    whole = refused[0].file("video")
    assert whole is not None and whole.size > 8 * MIB  # the whole file first, then parts
    assert len(sent) >= 2 and all(part.size_bytes <= 5 * MIB for part in sent)
    assert [part.index for part in sent] == list(range(len(sent)))
    assert _listing(tmp_path) == []


async def test_a_source_that_breaks_off_fails_the_delivery_and_leaves_nothing(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_server: MediaServer,
    tmp_path: Path,
) -> None:
    source = media.path(media.long_mp4)
    url = media_server.add_file("breaks/long.mp4", source, "video/mp4")
    guard = StreamGuard.for_options(OPEN)
    split = SplitSource((url,), MediaKind.VIDEO, url_check=guard)
    media_server.throttle_bytes_per_second = 4 * MIB
    deliver = asyncio.create_task(_deliver(bot, split, tmp_path))
    # the index is read; once the samples flow, the file disappears from the origin
    await eventually(lambda: bool(_listing(tmp_path)))
    media_server.add_route("/breaks/long.mp4", 410, b"gone")
    media_server.throttle_bytes_per_second = None

    with pytest.raises(DeliveryError):
        await deliver

    assert not accepted(telegram, "sendVideo")
    assert _listing(tmp_path) == []


async def test_a_cancel_mid_upload_leaves_nothing(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_server: MediaServer,
    tmp_path: Path,
) -> None:
    plan = await _located(media.long_dash_mpd, 720, tmp_path)
    media_server.throttle_bytes_per_second = 2 * MIB  # the body takes seconds to come
    deliver = asyncio.create_task(_deliver(bot, plan.source, tmp_path))
    # the fake has begun to store the body: the upload is under way
    await eventually(lambda: telegram.stored_upload_bytes() > 0)

    deliver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await deliver

    assert not accepted(telegram, "sendVideo")
    assert _listing(tmp_path) == []


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


async def test_a_streamed_upload_announces_its_length(bot: Bot) -> None:
    from aiogram.methods import SendVideo
    from aiohttp import FormData

    from mediabot.telegram.uploads import StreamedFile

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield b"x" * 1000

    method = SendVideo(chat_id=1, video=StreamedFile(chunks, 3000, "v.mp4"))
    form = bot.session.build_form_data(bot, method)  # type: ignore[attr-defined]
    assert isinstance(form, FormData)
    body = form()
    assert body.size is not None and body.size > 3000


@pytest.mark.parametrize("case", ["fragment", "redirect"])
async def test_a_fragment_on_a_private_address_is_refused_unrequested(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    trap: MediaServer,
    tmp_path: Path,
    case: str,
) -> None:
    playlist = media.segmented["hls-fmp4"]
    base = playlist.rsplit("/", 1)[0]
    lines = [
        f"{base}/{line}" if line.endswith(".m4s") else line.replace('URI="', f'URI="{base}/')
        for line in media.path(playlist).read_text().splitlines()
    ]
    trapped = f"{base}/seg002.m4s".replace("127.0.0.1", "127.0.0.2")
    if case == "redirect":
        trapped = media_requests.add_redirect("/moved/seg002.m4s", trapped)
    lines = [trapped if line.endswith("seg002.m4s") else line for line in lines]
    url = media_requests.add_route(
        f"/cases/whole-trapped-{case}.m3u8",
        body="\n".join(lines),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    guarded = DownloadOptions(allow_private_urls=False, allowed_private_networks=("127.0.0.1/32",))
    source = SegmentedSource(
        (FragmentTrack(playlist_url=url),),
        MediaKind.VIDEO,
        url_check=StreamGuard.for_options(guarded),
    )

    with pytest.raises(DeliveryError):
        await _deliver(bot, source, tmp_path)

    assert trap.requests == []
    assert not accepted(telegram, "sendVideo")
    assert _listing(tmp_path) == []
