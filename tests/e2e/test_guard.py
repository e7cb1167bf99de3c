"""The private-network guard, end to end: a loopback link with ALLOW_PRIVATE_URLS unset."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_env


async def test_a_private_network_link_is_refused_without_a_request(
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    tmp_path: Path,
) -> None:
    """The bench's loopback link, with ALLOW_PRIVATE_URLS unset: refused, nothing fetched."""
    env = mediabot_env(fake_telegram, tmp_path, ALLOW_PRIVATE_URLS="false")
    guarded = MediabotProcess("run", env, tmp_path / "guarded.log")
    chat = Conversation(fake_telegram)
    guarded.start()
    try:
        guarded.wait_for_log("mediabot started")
        reply = await chat.reply(chat.say(media.progressive_mp4))
    finally:
        assert guarded.stop() == 0
    assert "inline_keyboard" not in reply.params.get("reply_markup", "")
    assert "private" in reply.params["text"].lower() or "local" in reply.params["text"].lower()
    assert media_requests.request_count() == 0


async def test_a_playlist_with_a_segment_on_a_private_address_gets_the_private_network_message(
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    tmp_path: Path,
) -> None:
    """127.0.0.1 is allowed (it stands for a public CDN); one segment sits on 127.0.0.2."""
    port = int(media.base_url.rsplit(":", 1)[1])
    playlist = (media.dir / "hls" / "v0" / "index.m3u8").read_text().splitlines()
    lines = [
        f"{media.base_url}/hls/v0/{line}" if line.endswith(".ts") else line for line in playlist
    ]
    first = next(index for index, line in enumerate(lines) if line.endswith(".ts"))
    lines[first] = lines[first].replace("127.0.0.1", "127.0.0.2")
    variant = media_requests.add_route(
        "/guarded/variant.m3u8",
        body="\n".join(lines) + "\n",
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    master = media_requests.add_route(
        "/guarded/master.m3u8",
        body=(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,"
            f'CODECS="avc1.64001e,mp4a.40.2"\n{variant}\n'
        ),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    env = mediabot_env(
        fake_telegram,
        tmp_path,
        ALLOW_PRIVATE_URLS="false",
        ALLOWED_PRIVATE_NETWORKS="127.0.0.1/32",
    )
    guarded = MediabotProcess("run", env, tmp_path / "guarded.log")
    chat = Conversation(fake_telegram)
    with MediaServer(media.dir, host="127.0.0.2", port=port) as trap:
        guarded.start()
        try:
            guarded.wait_for_log("mediabot started")
            keyboard = await chat.keyboard(chat.say(master))
            answer = await chat.final_text(chat.press(keyboard, keyboard.data("360p")), "private")
        finally:
            assert guarded.stop() == 0
        assert trap.requests == []
    assert "private" in answer.params["text"].lower()
    assert media_requests.request_count("/guarded/variant.m3u8") >= 1


def _recording_tools(folder: Path, records: Path) -> Path:
    """`ffmpeg` and `ffprobe` wrappers that record each run's command line (what `ps` shows
    everyone) and its `http_proxy`, one file per run, then run the real tool."""
    folder.mkdir()
    records.mkdir()
    for name in ("ffmpeg", "ffprobe"):
        real = shutil.which(name)
        assert real is not None
        wrapper = folder / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f'printf "%s\\n" "proxy=${{http_proxy-}}" "args=$*" > "{records}/{name}-$$"\n'
            f'exec "{real}" "$@"\n'
        )
        wrapper.chmod(0o755)
    return folder


async def test_the_guard_proxys_secret_is_in_no_log_line_and_on_no_command_line(
    fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    """A full delivery of an HLS media playlist: ffprobe reads it through the guard proxy
    (to learn its resolution), yt-dlp downloads it, the file is sent. The secrets ffprobe was
    given in its environment show in no line of the debug log and on no command line."""
    records = tmp_path / "runs"
    tools = _recording_tools(tmp_path / "tools", records)
    env = mediabot_env(fake_telegram, tmp_path, PATH=f"{tools}{os.pathsep}{os.environ['PATH']}")
    process = MediabotProcess("run", env, tmp_path / "mediabot.log")
    chat = Conversation(fake_telegram)
    process.start()
    try:
        process.wait_for_log("mediabot started")
        keyboard = await chat.keyboard(chat.say(media.segmented["hls-ts"]))
        sent = await chat.media(chat.press(keyboard, keyboard.data("360p")))
    finally:
        assert process.stop() == 0
    assert sent.method == "sendVideo"
    runs = [path.read_text() for path in records.iterdir()]
    proxies = {line[len("proxy=") :] for run in runs for line in run.splitlines()}
    proxies = {proxy for proxy in proxies if proxy.startswith("http://")}
    assert proxies, runs  # ffprobe read the playlist through the guard proxy
    secrets = set()
    for proxy in proxies:
        parts = urlsplit(proxy)
        assert parts.password and parts.hostname == "127.0.0.1"
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        secrets |= {parts.password, token}
    command_lines = "\n".join(
        line for run in runs for line in run.splitlines() if line.startswith("args=")
    )
    log = process.log
    for secret in secrets:
        assert secret not in log
        assert secret not in command_lines
    for proxy in proxies:  # the debug log names each session, by its address only
        assert urlsplit(proxy).netloc.rpartition("@")[2] in log
