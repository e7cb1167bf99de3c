"""The document form: files go through sendDocument with their streams byte for byte."""

from __future__ import annotations

from pathlib import Path

from aiogram import Bot

from mediabot.domain.enums import MediaKind
from mediabot.domain.preferences import DeliveryForm
from mediabot.senders.cached import CachedPart
from mediabot.senders.document import (
    AudioDocumentSender,
    LargeVideoDocumentSender,
    VideoDocumentSender,
)
from mediabot.senders.registry import CACHED_SENDERS, make_sender, sender_for
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.streams import packet_hashes, stream_hashes

from .conftest import accepted
from .test_single_senders import copy_into, item_of, result_of, target_for

MIB = 1024 * 1024


async def test_a_video_goes_as_a_document_with_its_streams_unchanged(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.progressive_mp4), tmp_path)
    source_streams = await stream_hashes(video)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    sender = make_sender(
        bot, result, target_for(result), limit_bytes=50 * MIB, form=DeliveryForm.DOCUMENT
    )
    assert isinstance(sender, VideoDocumentSender)

    (part,) = await sender.send()

    assert accepted(telegram, "sendVideo") == []
    (call,) = accepted(telegram, "sendDocument")
    assert call.params["disable_content_type_detection"] == "true"
    assert call.params["caption"].startswith("<b>A title</b>")
    assert call.file("thumbnail") is not None
    upload = call.file("document")
    assert upload is not None and upload.filename == "A title.mp4"
    assert len(source_streams) == 2
    assert await stream_hashes(upload.path) == source_streams
    assert part.file_id == call.result["document"]["file_id"]


async def test_an_audio_goes_as_a_document_with_its_stream_unchanged(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    audio = copy_into(media.path(media.audio_m4a), tmp_path)
    result = result_of(item_of(audio, MediaKind.AUDIO), kind=MediaKind.AUDIO)
    assert sender_for(result, 50 * MIB, DeliveryForm.DOCUMENT) is AudioDocumentSender
    source_streams = await stream_hashes(audio)

    await make_sender(
        bot, result, target_for(result), limit_bytes=50 * MIB, form=DeliveryForm.DOCUMENT
    ).send()

    assert accepted(telegram, "sendAudio") == []
    (call,) = accepted(telegram, "sendDocument")
    upload = call.file("document")
    assert upload is not None
    assert await stream_hashes(upload.path) == source_streams


async def test_a_video_over_the_limit_goes_as_document_parts_holding_every_packet(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    limit = 2 * MIB
    video = copy_into(media.path(media.long_mp4), tmp_path)
    source_packets = await packet_hashes(video)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    sender = make_sender(
        bot, result, target_for(result), limit_bytes=limit, form=DeliveryForm.DOCUMENT
    )
    assert isinstance(sender, LargeVideoDocumentSender)

    sent = await sender.send()

    calls = accepted(telegram, "sendDocument")
    assert accepted(telegram, "sendVideo") == []
    assert len(calls) == len(sent) >= 2
    joined: dict[int, list[str]] = {}
    for number, call in enumerate(calls, start=1):
        assert call.params["caption"].endswith(f"Part {number}/{len(sent)}")
        upload = call.file("document")
        assert upload is not None and upload.size <= limit
        for stream, packets in (await packet_hashes(upload.path)).items():
            joined.setdefault(stream, []).extend(packets)
    assert joined[0] == source_packets[0]  # the video: every packet once, in order


async def test_documents_are_sent_again_as_documents_by_file_id(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.progressive_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    target = target_for(result)
    (first,) = await make_sender(
        bot, result, target, limit_bytes=50 * MIB, form=DeliveryForm.DOCUMENT
    ).send()
    cached = CachedPart(first.kind, first.file_id, first.file_unique_id, first.size_bytes)

    (again,) = await CACHED_SENDERS[DeliveryForm.DOCUMENT](bot, target, [cached]).send()

    calls = accepted(telegram, "sendDocument")
    assert len(calls) == 2 and calls[1].file("document") is None
    assert calls[1].params["document"] == first.file_id
    assert again.file_unique_id == first.file_unique_id
