"""Video, audio, photo and album senders against the bench's fake Bot API."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

from aiogram import Bot

from mediabot.domain.enums import MediaKind
from mediabot.media.probe import probe
from mediabot.senders.album import AlbumSender, album_sizes
from mediabot.senders.base import SendTarget, SentPart
from mediabot.senders.registry import make_sender
from tests.senders.results import copy_into, item_of, make_jpeg, result_of, target_for
from tests.support.disk import listing
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources

LIMIT = 50 * 1024 * 1024


async def test_a_video_goes_with_its_facts_a_thumbnail_and_the_caption(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.progressive_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    link = telegram.inject_message(77, result.source_url)["message"]["message_id"]
    recorded: list[SentPart] = []

    async def on_part(part: SentPart) -> None:
        recorded.append(part)

    sent = await make_sender(
        bot, result, target_for(result, link), limit_bytes=LIMIT, on_part=on_part
    ).send()

    (call,) = telegram.calls_of("sendVideo")
    assert call.params["width"] == "640"
    assert call.params["height"] == "360"
    assert call.params["duration"] == "6"
    assert call.params["supports_streaming"] == "true"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["caption"] == (
        "<b>A title</b>\nhttps://example.com/watch?v=1&amp;x=&lt;2&gt;"
    )
    assert json.loads(call.params["reply_parameters"])["message_id"] == link
    assert call.result["reply_to_message"]["message_id"] == link
    thumbnail = call.file("thumbnail")
    assert thumbnail is not None
    assert thumbnail.size < 200 * 1024
    thumb_info = await probe(thumbnail.path)
    assert thumb_info.streams[0].codec_name == "mjpeg"
    assert max(thumb_info.streams[0].width or 0, thumb_info.streams[0].height or 0) <= 320
    assert "thumbnail" in call.result["video"]  # Telegram took it (small enough, a JPEG)
    uploaded = call.file("video")
    assert uploaded is not None
    assert uploaded.size == video.stat().st_size
    assert filecmp.cmp(uploaded.path, video, shallow=False)
    (posted,) = telegram.sent_media(77)
    assert posted.uploaded
    assert posted.caption == "A title\nhttps://example.com/watch?v=1&x=<2>"  # valid HTML
    assert recorded == sent
    assert sent[0].kind is MediaKind.VIDEO
    assert (sent[0].index, sent[0].total) == (0, 1)
    assert sent[0].message_id == call.result["message_id"] == posted.message_id
    assert sent[0].file_id == call.result["video"]["file_id"] == posted.file_id
    assert sent[0].file_unique_id == call.result["video"]["file_unique_id"]
    assert sent[0].size_bytes == video.stat().st_size
    assert listing(tmp_path) == [video.name]  # the thumbnail we made is gone


async def test_an_audio_goes_with_title_performer_duration_and_cover(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    audio = copy_into(media.path(media.audio_m4a), tmp_path)
    cover = make_jpeg(tmp_path / "cover.jpg")
    result = result_of(
        item_of(audio, MediaKind.AUDIO, duration_s=6.0, thumbnail=cover), kind=MediaKind.AUDIO
    )

    sent = await make_sender(bot, result, target_for(result), limit_bytes=LIMIT).send()

    (call,) = telegram.calls_of("sendAudio")
    assert call.params["title"] == "A title"
    assert call.params["performer"] == "Someone"
    assert call.params["duration"] == "6"
    cover_file = call.file("thumbnail")
    assert cover_file is not None
    cover_info = await probe(cover_file.path)
    assert (cover_info.streams[0].width, cover_info.streams[0].height) == (320, 240)
    assert "thumbnail" in call.result["audio"]
    uploaded = call.file("audio")
    assert uploaded is not None
    assert filecmp.cmp(uploaded.path, audio, shallow=False)
    assert sent[0].kind is MediaKind.AUDIO
    assert sent[0].file_id == call.result["audio"]["file_id"]
    assert listing(tmp_path) == sorted([audio.name, cover.name])


async def test_a_photo_goes_alone(bot: Bot, telegram: FakeTelegram, tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "photo.jpg")
    result = result_of(item_of(photo, MediaKind.PHOTO), kind=MediaKind.PHOTO)
    sent = await make_sender(bot, result, target_for(result), limit_bytes=LIMIT).send()
    (call,) = telegram.calls_of("sendPhoto")
    uploaded = call.file("photo")
    assert uploaded is not None
    assert uploaded.size == photo.stat().st_size
    assert sent[0].kind is MediaKind.PHOTO
    assert sent[0].file_id == call.result["photo"][-1]["file_id"]
    assert sent[0].message_id == call.result["message_id"]


def test_albums_hold_two_to_ten_items() -> None:
    assert album_sizes(1) == [1]
    assert album_sizes(2) == [2]
    assert album_sizes(10) == [10]
    assert album_sizes(11) == [6, 5]
    assert album_sizes(21) == [7, 7, 7]
    assert all(2 <= size <= 10 for count in range(2, 60) for size in album_sizes(count))


async def test_a_carousel_of_twelve_goes_as_two_albums(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    items = [item_of(make_jpeg(tmp_path / f"p{i}.jpg"), MediaKind.PHOTO) for i in range(11)]
    video = copy_into(media.path(media.progressive_mp4), tmp_path)
    items.append(item_of(video, MediaKind.VIDEO, width=640, height=360, duration_s=6.0))
    result = result_of(*items, kind=MediaKind.PHOTO)

    sender = make_sender(bot, result, target_for(result), limit_bytes=LIMIT)
    assert isinstance(sender, AlbumSender)
    sent = await sender.send()

    first, second = telegram.calls_of("sendMediaGroup")
    first_media = json.loads(first.params["media"])
    second_media = json.loads(second.params["media"])
    assert (len(first_media), len(second_media)) == (6, 6)
    assert first_media[0]["caption"].startswith("<b>A title</b>")
    assert all("caption" not in entry for entry in first_media[1:] + second_media)
    assert second_media[-1]["type"] == "video"
    assert second_media[-1]["supports_streaming"] is True
    assert len(first.files) == len(second.files) == 6
    posted = telegram.sent_media(77)
    assert [item.kind for item in posted] == ["photo"] * 11 + ["video"]
    assert all(item.uploaded for item in posted)
    assert len({item.media_group_id for item in posted[:6]}) == 1
    assert len({item.media_group_id for item in posted}) == 2
    assert [part.file_id for part in sent] == [item.file_id for item in posted]
    assert [part.message_id for part in sent] == [item.message_id for item in posted]
    assert [part.index for part in sent] == list(range(12))
    assert {part.total for part in sent} == {12}
    assert sent[-1].kind is MediaKind.VIDEO


async def test_a_carousel_of_one_is_a_single_send(
    bot: Bot, telegram: FakeTelegram, tmp_path: Path
) -> None:
    sender = AlbumSender(
        bot,
        SendTarget(1, "caption"),
        [item_of(make_jpeg(tmp_path / "only.jpg"), MediaKind.PHOTO)],
    )
    await sender.send()
    assert telegram.calls_of("sendMediaGroup") == []
    assert len(telegram.calls_of("sendPhoto")) == 1


async def test_a_local_bot_api_server_gets_paths_not_uploads(
    local_bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    video = copy_into(media.path(media.progressive_mp4), tmp_path)
    result = result_of(item_of(video, MediaKind.VIDEO), kind=MediaKind.VIDEO)
    sent = await make_sender(local_bot, result, target_for(result), limit_bytes=LIMIT).send()
    (call,) = telegram.calls_of("sendVideo")
    assert call.params["video"] == video.resolve().as_uri()
    # only the small thumbnail travels in the request; the video stays where it is
    assert [upload.filename for upload in call.files.values()] == ["video.tg-thumb.jpg"]
    # the server read the file from its path: what it holds is that file, byte for byte
    assert filecmp.cmp(telegram.uploaded_path(sent[0].file_id), video, shallow=False)
    assert sent[0].file_id == call.result["video"]["file_id"]
