"""End to end on `mediabot run`: blog pages with a `<video>` element, and hostile servers.

The guard is on (127.0.0.1/32 stands for a public host), `MAX_DURATION_MIN=1`, and the
upload limit is 1 MiB, so a 1.4 MB source is cut into parts straight from the origin. What
a user sees: the page's video offered at its height with its size; a video over the limit
refused at the lookup, or, when its length showed only in the downloaded or streamed file,
refused then with nothing sent; a server's false Content-Length not shown as the size; a
redirect chain past the limit told as such; a playlist's long item skipped like the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from mediabot.bot.keyboards import format_size
from mediabot.media.probe import probe
from tests.support.conversation import Conversation, Keyboard
from tests.support.fake_telegram import FakeTelegram
from tests.support.feeds import podcast_feed
from tests.support.media import PAGE_DURATION, PAGE_SIZE, MediaSources
from tests.support.media_server import MediaServer
from tests.support.pages import blog_video
from tests.support.processes import MediabotProcess, mediabot_run

HEIGHT = PAGE_SIZE[1]
TOO_LONG = "This media is 2 min long; the limit is 1 min."
TOO_LONG_ASK_A_CLIP = "This video is longer than 1 minutes. Send the link again with the part"
_DELIVERIES = ("sendVideo", "sendAudio", "sendDocument", "sendMediaGroup")
_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}


@pytest.fixture(scope="module")
def embedded(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("pages")
    with mediabot_run(
        fake_telegram,
        data_dir,
        ALLOW_PRIVATE_URLS="false",
        ALLOWED_PRIVATE_NETWORKS="127.0.0.1/32",
        MAX_DURATION_MIN="1",
        TELEGRAM_UPLOAD_LIMIT_MB="1",
        PLAYLIST_MAX_ITEMS="5",
    ) as process:
        yield process


@pytest.fixture
def chat(embedded: MediabotProcess, fake_telegram: FakeTelegram) -> Conversation:
    return Conversation(fake_telegram)


def _size(label: str) -> int:
    """The bytes a button's "240p · 342 KB" stands for."""
    match = re.search(r"· ([\d.]+) (B|KB|MB|GB)$", label)
    assert match is not None, label
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _video_button(keyboard: Keyboard) -> str:
    (label,) = [text for text in keyboard.buttons if text.startswith(f"{HEIGHT}p")]
    return label


def _deliveries(chat: Conversation) -> list[str]:
    return [call.method for call in chat.calls(*_DELIVERIES)]


async def test_a_page_video_is_offered_at_its_height_with_its_size_and_delivered(
    chat: Conversation, media: MediaSources, media_requests: MediaServer
) -> None:
    url = blog_video(media_requests, "/blog/holiday.html", media.page_mp4)
    keyboard = await chat.keyboard(chat.say(url))
    size = media.path(media.page_mp4).stat().st_size
    assert [text.split(" ·")[0] for text in keyboard.buttons] == [
        f"{HEIGHT}p",
        "🎵 Audio only",
        "✖ Cancel",
    ]
    assert _video_button(keyboard) == f"{HEIGHT}p · {format_size(size)}"
    assert "size unknown" not in " ".join(keyboard.buttons)
    sent = await chat.media(chat.press(keyboard, keyboard.data(f"{HEIGHT}p")))
    assert sent.method == "sendVideo"
    assert sent.params["duration"] == str(round(PAGE_DURATION))
    facts = await probe(chat.telegram.uploaded_path(sent.result["video"]["file_id"]))
    assert facts.video is not None and facts.video.height == HEIGHT
    assert facts.audio is not None


async def test_a_page_video_over_the_duration_limit_is_refused_at_the_lookup(
    chat: Conversation, media: MediaSources, media_requests: MediaServer
) -> None:
    url = blog_video(media_requests, "/blog/long.html", media.page_long["mp4"])
    reply = await chat.reply(chat.say(url))
    assert reply.params["text"].startswith(TOO_LONG_ASK_A_CLIP)
    assert "inline_keyboard" not in reply.params.get("reply_markup", "")


async def test_a_clip_of_a_video_over_the_limit_is_offered_alone_and_delivered(
    chat: Conversation, media: MediaSources, media_requests: MediaServer
) -> None:
    """The limit applies to the clip: 20 s of a 2-minute video under a 1-minute limit."""
    url = blog_video(media_requests, "/blog/long-clip.html", media.page_long["mp4"])
    keyboard = await chat.keyboard(chat.say(f"{url} 0:10-0:30"))
    assert all(text.startswith(("✂", "✖")) for text in keyboard.buttons), keyboard.buttons
    since = chat.press(keyboard, keyboard.data(f"✂ {HEIGHT}p"))
    sent = await chat.media(since)
    facts = await probe(chat.telegram.uploaded_path(sent.result["video"]["file_id"]))
    assert facts.duration_s is not None and 20 <= facts.duration_s <= 23  # from a keyframe

    reply = await chat.reply(chat.say(f"{url} 0:10-1:30"))
    assert reply.params["text"].startswith("This clip is longer than 1 minutes")
    assert "inline_keyboard" not in reply.params.get("reply_markup", "")


@pytest.mark.parametrize(
    ("container", "way"),
    [("ts", "downloaded"), ("fragmented", "streamed in parts")],
)
async def test_a_length_hidden_at_the_lookup_is_refused_before_anything_is_sent(
    chat: Conversation,
    media: MediaSources,
    media_requests: MediaServer,
    container: str,
    way: str,
) -> None:
    """MPEG-TS states no length; a fragmented MP4's start says ~10 s (and, 1.4 MB over a
    1 MiB limit, it is cut from the origin: the splitter reads the real length)."""
    url = blog_video(media_requests, f"/blog/hidden-{container}.html", media.page_long[container])
    keyboard = await chat.keyboard(chat.say(url))
    since = chat.press(keyboard, keyboard.data(f"{HEIGHT}p"))
    answer = await chat.final_text(since, TOO_LONG)
    assert "2 min" in answer.params["text"], way
    assert _deliveries(chat) == []


@pytest.mark.parametrize("where", ["direct", "page"])
async def test_a_false_content_length_is_not_offered_as_the_size(
    chat: Conversation, media: MediaSources, media_requests: MediaServer, where: str
) -> None:
    file = media.path(media.page_mp4)
    video = media_requests.add_file(
        f"/files/clip-{where}.mp4", file, "video/mp4", announced_bytes=2 * 1024**3
    )
    url = video if where == "direct" else blog_video(media_requests, "/blog/liar.html", video)
    keyboard = await chat.keyboard(chat.say(url))
    label = _video_button(keyboard)
    assert "GB" not in label
    assert 0.5 * file.stat().st_size <= _size(label) <= 2 * file.stat().st_size


async def test_thirty_redirects_are_told_as_too_many_redirects(
    chat: Conversation, media: MediaSources, media_requests: MediaServer
) -> None:
    target = media.page_mp4
    for hop in range(30, 0, -1):
        target = media_requests.add_redirect(f"/away/{hop}", target)
    reply = await chat.reply(chat.say(target))
    assert "redirects too many times" in reply.params["text"]
    assert "could not be reached" not in reply.params["text"]


async def test_a_playlists_items_too_long_once_fetched_are_skipped(
    chat: Conversation, media: MediaSources, media_requests: MediaServer
) -> None:
    """The feed says every item lasts 3 s; two of them last two minutes."""
    items = [
        media_requests.add_file("/feed/short.mp4", media.path(media.page_mp4), "video/mp4"),
        media_requests.add_file("/feed/long.ts", media.path(media.page_long["ts"]), "video/mp2t"),
        media_requests.add_file(
            "/feed/long.mp4", media.path(media.page_long["fragmented"]), "video/mp4"
        ),
    ]
    feed = podcast_feed(media_requests, "/feed.xml", items, title="Holidays")
    keyboard = await chat.keyboard(chat.say(feed), within=60)
    since = chat.press(keyboard, keyboard.data("360p"))
    done = await chat.final_text(since, "Playlist done", within=240)
    assert "1 of 3 delivered" in done.params["text"]
    assert "Skipped: 2" in done.params["text"]
    assert _deliveries(chat) == ["sendVideo"]
