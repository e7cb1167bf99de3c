"""Large media as parts, retries, 413 re-cuts, resume, streaming sources, cached resends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage, SendVideo
from aiogram.types import FSInputFile

from mediabot.domain.enums import MediaKind
from mediabot.media.probe import probe
from mediabot.media.sources import SplitSource
from mediabot.senders.album import AlbumSender
from mediabot.senders.base import DeliveryError, ResumePoint, SendTarget, SentPart
from mediabot.senders.cached import CachedPart, CachedSender, StaleFileIdError
from mediabot.senders.large import LargeAudioSender, LargeVideoSender
from mediabot.senders.registry import make_sender, make_stream_sender, sender_for
from mediabot.telegram.client import upload_timeout
from tests.senders.results import copy_into, item_of, make_jpeg, result_of, target_for
from tests.support.disk import listing
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources

from .conftest import accepted

MIB = 1024 * 1024
LIMIT = 2 * MIB


class Recorder:
    def __init__(self) -> None:
        self.parts: list[SentPart] = []

    async def __call__(self, part: SentPart) -> None:
        self.parts.append(part)


async def _check_delivery(
    telegram: FakeTelegram, sent: list[SentPart], method: str, *, limit: int, duration: float
) -> None:
    calls = accepted(telegram, method)
    assert len(calls) == len(sent) >= 2
    total = 0.0
    for number, (call, part) in enumerate(zip(calls, sent, strict=True), start=1):
        field = "video" if method == "sendVideo" else "audio"
        upload = call.file(field)
        assert upload is not None
        assert upload.size == part.size_bytes <= limit
        assert (part.file_id, part.message_id) == (
            call.result[field]["file_id"],
            call.result["message_id"],
        )
        assert call.params["caption"].endswith(f"Part {number}/{len(sent)}")
        info = await probe(upload.path)
        assert info.is_playable
        assert info.audio is not None
        assert info.duration_s is not None
        total += info.duration_s
    assert abs(total - duration) <= 1.0
    assert [part.index for part in sent] == list(range(len(sent)))
    assert {part.total for part in sent} == {len(sent)}


async def test_a_large_video_arrives_as_playable_parts_and_leaves_no_file(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.long_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    recorder = Recorder()

    sender = make_sender(bot, result, target_for(result), limit_bytes=LIMIT, on_part=recorder)
    assert isinstance(sender, LargeVideoSender)
    sent = await sender.send()

    await _check_delivery(telegram, sent, "sendVideo", limit=LIMIT, duration=48.0)
    assert recorder.parts == sent
    first = accepted(telegram, "sendVideo")[0]
    assert first.params["supports_streaming"] == "true"
    assert (first.params["width"], first.params["height"]) == ("1280", "720")
    assert first.file("thumbnail") is not None
    assert sent[-1].end_s == pytest.approx(48.0, abs=0.1)
    assert listing(tmp_path) == [video.name]


async def test_a_large_audio_arrives_as_m4a_parts(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    audio = copy_into(media.path(media.long_audio_m4a), tmp_path)
    result = result_of(item_of(audio, MediaKind.AUDIO), kind=MediaKind.AUDIO)
    limit = 512 * 1024

    sender = make_sender(bot, result, target_for(result), limit_bytes=limit)
    assert isinstance(sender, LargeAudioSender)
    sent = await sender.send()

    await _check_delivery(telegram, sent, "sendAudio", limit=limit, duration=48.0)
    titles = [call.params["title"] for call in accepted(telegram, "sendAudio")]
    assert titles[-1] == f"A title ({len(sent)}/{len(sent)})"
    assert listing(tmp_path) == [audio.name]


async def test_flood_control_once_then_each_part_is_delivered_once(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.long_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    telegram.fail_next("sendVideo", error_code=429, retry_after=1)

    sent = await make_sender(bot, result, target_for(result), limit_bytes=LIMIT).send()

    calls = telegram.calls_of("sendVideo")
    assert [call.status for call in calls][:2] == [429, 200]
    assert calls[1].time - calls[0].time >= 1.0  # the retry waited as Telegram asked
    assert len(accepted(telegram, "sendVideo")) == len(sent)
    assert len(calls) == len(sent) + 1
    # Telegram holds exactly the parts reported: the refused request left nothing behind
    assert [item.size for item in telegram.sent_media()] == [part.size_bytes for part in sent]
    assert listing(tmp_path) == [video.name]


async def test_a_part_refused_as_too_large_is_cut_again_smaller(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.long_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    telegram.upload_limit_bytes = int(1.6 * MIB)  # Telegram takes less than we were told

    sent = await make_sender(bot, result, target_for(result), limit_bytes=LIMIT).send()

    statuses = [call.status for call in telegram.calls_of("sendVideo")]
    assert statuses[0] == 413
    assert statuses.count(413) == 1
    await _check_delivery(
        telegram, sent, "sendVideo", limit=telegram.upload_limit_bytes, duration=48.0
    )
    assert listing(tmp_path) == [video.name]


async def test_a_resumed_delivery_never_sends_a_part_twice(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.long_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    first_run = Recorder()

    async def stop_after_first(part: SentPart) -> None:
        # Telegram refuses the next upload, and a 400 is not retried: the delivery dies
        await first_run(part)
        telegram.fail_next("sendVideo", error_code=400, description="Bad Request: chat not found")

    sender = make_sender(
        bot, result, target_for(result), limit_bytes=LIMIT, on_part=stop_after_first
    )
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await sender.send()
    assert len(first_run.parts) == 1
    assert [call.status for call in telegram.calls_of("sendVideo")] == [200, 400]
    assert listing(tmp_path) == [video.name]

    done = first_run.parts[-1]
    resume = ResumePoint(next_index=done.index + 1, start_s=done.end_s or 0.0)
    rest = await make_sender(
        bot, result, target_for(result), limit_bytes=LIMIT, resume=resume
    ).send()

    assert rest[0].index == 1
    assert rest[0].start_s == done.end_s
    assert len(accepted(telegram, "sendVideo")) == len(first_run.parts + rest)
    await _check_delivery_union(telegram, first_run.parts + rest)
    assert listing(tmp_path) == [video.name]


async def _check_delivery_union(telegram: FakeTelegram, parts: list[SentPart]) -> None:
    assert [part.index for part in parts] == list(range(len(parts)))
    total = 0.0
    for part in parts:
        info = await probe(telegram.uploaded_path(part.file_id))
        assert info.duration_s is not None
        total += info.duration_s
    assert abs(total - 48.0) <= 1.0


async def test_a_streamed_source_is_delivered_without_a_local_copy(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    base = media.long_mp4.rsplit("/", 1)[0]
    source = SplitSource((f"{base}/dash/video-720p.mp4", f"{base}/dash/audio.m4a"), MediaKind.VIDEO)
    sender = make_stream_sender(
        bot,
        source,
        SendTarget.for_media(9, "Streamed", media.long_mp4),
        work_dir=tmp_path,
        limit_bytes=LIMIT,
        title="Streamed",
    )
    sent = await sender.send()
    await _check_delivery(telegram, sent, "sendVideo", limit=LIMIT, duration=48.0)
    assert listing(tmp_path) == []


async def test_a_resend_by_file_id_uploads_nothing(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.long_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    first = await make_sender(bot, result, target_for(result), limit_bytes=LIMIT).send()
    since = len(telegram.calls)
    uploads = len(telegram.sent_media())

    cached = [
        CachedPart(
            part.kind, part.file_id, part.file_unique_id, part.size_bytes, part.start_s, part.end_s
        )
        for part in first
    ]
    again = await CachedSender(bot, SendTarget(123, "cached"), cached).send()

    calls = telegram.calls[since:]
    assert [call.method for call in calls] == ["sendVideo"] * len(first)
    assert all(call.ok and call.files == {} for call in calls)
    assert [call.params["video"] for call in calls] == [part.file_id for part in first]
    assert calls[-1].params["caption"] == f"cached\nPart {len(first)}/{len(first)}"
    resent = telegram.sent_media(123)
    assert len(resent) == len(first) and not any(item.uploaded for item in resent)
    assert len(telegram.sent_media()) == uploads + len(first)
    assert [part.index for part in again] == list(range(len(first)))
    assert [part.file_unique_id for part in again] == [part.file_unique_id for part in first]


async def test_a_cached_album_goes_as_an_album(
    bot: Bot, telegram: FakeTelegram, tmp_path: Path
) -> None:
    # Telegram knows only the file ids it gave out: deliver the photos once to get some
    items = [item_of(make_jpeg(tmp_path / f"p{i}.jpg"), MediaKind.PHOTO) for i in range(3)]
    first = await AlbumSender(bot, SendTarget(1, "album"), items).send()
    since = len(telegram.calls)

    photos = [CachedPart(part.kind, part.file_id, part.file_unique_id) for part in first]
    again = await CachedSender(bot, SendTarget(2, "album"), photos).send()

    (call,) = telegram.calls[since:]
    assert (call.method, call.ok, call.files) == ("sendMediaGroup", True, {})
    ids = [part.file_id for part in first]
    assert [entry["media"] for entry in json.loads(call.params["media"])] == ids
    resent = telegram.sent_media(2)
    assert [item.file_id for item in resent] == ids
    assert len({item.media_group_id for item in resent}) == 1
    assert not any(item.uploaded for item in resent)
    assert [part.message_id for part in again] == [item.message_id for item in resent]


async def test_a_stale_file_id_raises_so_the_caller_downloads_again(
    bot: Bot, telegram: FakeTelegram
) -> None:
    stale = CachedPart(MediaKind.VIDEO, "BAACAgIAAxkDAAno-longer-valid")
    with pytest.raises(StaleFileIdError):
        await CachedSender(bot, SendTarget(1, "x"), [stale]).send()
    (call,) = telegram.calls_of("sendVideo")
    assert call.status == 400  # Telegram refused it once; nothing was retried


def test_the_registry_is_a_lookup_table(tmp_path: Path) -> None:
    small = tmp_path / "small.mp4"
    small.write_bytes(b"x" * 10)
    single = result_of(item_of(small, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    assert sender_for(single, 100).__name__ == "VideoSender"
    assert sender_for(single, 5).__name__ == "LargeVideoSender"
    audio = result_of(item_of(small, MediaKind.AUDIO), kind=MediaKind.AUDIO)
    assert sender_for(audio, 5).__name__ == "LargeAudioSender"
    group = result_of(*(item_of(small, MediaKind.PHOTO) for _ in range(3)), kind=MediaKind.PHOTO)
    assert sender_for(group, 100).__name__ == "AlbumSender"
    with pytest.raises(DeliveryError):
        sender_for(group, 5)


def test_upload_timeouts_grow_with_the_file(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 * MIB))
    method = SendVideo(chat_id=1, video=FSInputFile(big))
    assert upload_timeout(method) == pytest.approx(63.0)
    assert upload_timeout(SendMessage(chat_id=1, text="hi")) is None
