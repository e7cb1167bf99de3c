"""The whole pipeline through the fake Bot API: latencies, and 200 users at once.

Real mediabot processes talk to the fake Telegram Bot API on loopback; the media comes from
the loopback media server. Two layouts are measured:

- embedded: `mediabot run` (SQLite under a fresh DATA_DIR, in-process queue);
- rabbitmq: `mediabot bot` + `--workers` x `mediabot worker` (2 by default) on a fresh
  PostgreSQL database and a fresh RabbitMQ virtual host (both dropped at the end); all of
  them draw from the one Telegram budget in the database.

Figures, per layout:

- link -> keyboard: a message with a link injected -> the message that carries the choice
  buttons (the answer itself, or the placeholder edited into it), for the progressive MP4
  and the DASH manifest (median, p95);
- press -> file, cached: a button press injected -> the file delivered before, by its file
  id (no download, no upload: the keyboard edited into it, or a `sendVideo`), median and
  p95 over `--presses` presses
  (targets: median <= 50 ms embedded, <= 100 ms through RabbitMQ);
- burst: `--users` chats each send a link and press a button at once, with the fake
  server's rate limiter on; once for a file already in the cache, once spread over
  `--distinct` media that must be downloaded. Every chat must get its file exactly once
  (successful sends counted per chat) and no request may be refused with 429. The
  burst's messages/s is what the fake server accepted under its limits (sends and edits)
  from the first to the last, all processes together. A third burst (cached) lets every
  user get the keyboard first and then has all press at once: its messages/s, counted from
  the presses, is the deliveries' rate, which only the Telegram budget should bound.

Every wait is bounded; processes, the database and the virtual host are removed on exit.

    .venv/bin/python bench/bench_pipeline.py [--presses 30] [--samples 15] [--users 200]
        [--distinct 10] [--only embedded|rabbitmq] [--workers 2] [--log-level INFO] [--keep]
        [--timeline] [--json figures.json] [--env NAME=VALUE ...]

Timestamps are the fake server's arrival times (`ApiCall.time`, monotonic, same process),
so the bench's own polling adds nothing to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.conversation import Conversation, Keyboard  # noqa: E402
from tests.support.fake_telegram import ApiCall, FakeTelegram  # noqa: E402
from tests.support.media import MediaSources, link_media_tree  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.processes import MediabotProcess, mediabot_env  # noqa: E402
from tests.support.services import AMQP_HOST, AMQP_PASSWORD, AMQP_USER, PG_ADMIN_DSN  # noqa: E402

MEDIA_METHODS = frozenset(
    {"sendVideo", "sendAudio", "sendPhoto", "sendMediaGroup", "sendDocument", "editMessageMedia"}
)
"""A file reaching the chat: sent, or (a cached one) edited into its offer's keyboard."""
TARGETS_MS = {"embedded": 50.0, "rabbitmq": 100.0}
START_TIMEOUT_S = 180.0
"""Processes start together; on a busy 2-core machine seven of them importing take a while."""
STEP_TIMEOUT_S = 60.0
BURST_TIMEOUT_S = 240.0
"""How long one user of a burst waits for each step; a burst of 200 takes well under this."""
SETTLE_S = 2.0
"""After the last delivery of a burst: how long a duplicate send has to show up."""
POLL_S = 0.005


class LostError(Exception):
    """A user of a burst got no answer in time; the message says at which step."""


# -- watching the fake server ---------------------------------------------------------------


def _is_choices(call: ApiCall) -> bool:
    """The message that offers the choice buttons: the answer itself (a quick lookup) or
    the placeholder edited into it (the queued message has only "Cancel")."""
    if call.method not in ("sendMessage", "editMessageText") or not call.ok:
        return False
    markup = call.json("reply_markup") or {}
    return sum(len(row) for row in markup.get("inline_keyboard", [])) > 1


def _is_media(call: ApiCall) -> bool:
    return call.method in MEDIA_METHODS and call.ok


def _is_paced(method: str) -> bool:
    """Counted against Telegram's rate: messages sent, copied, forwarded or edited."""
    return method.startswith(("send", "copy", "forward", "editMessage")) and (
        method != "sendChatAction"
    )


def _keyboard_of(call: ApiCall) -> Keyboard:
    markup = call.json("reply_markup")
    buttons = {
        button["text"]: button["callback_data"]
        for row in markup["inline_keyboard"]
        for button in row
    }
    return Keyboard(int(call.result["message_id"]), buttons)


class CallWatcher:
    """Files every new Bot API call under its chat, and wakes whoever waits for it.

    One poller for any number of waiting users: `FakeTelegram.wait_for` scans the whole
    call list per waiter, which 200 waiters cannot afford.
    """

    def __init__(self, telegram: FakeTelegram) -> None:
        self._telegram = telegram
        self._seen = 0
        self._by_chat: dict[int, list[ApiCall]] = defaultdict(list)
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CallWatcher:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def of(self, chat_id: int) -> list[ApiCall]:
        return list(self._by_chat.get(chat_id, ()))

    async def _poll(self) -> None:
        while True:
            calls = self._telegram.calls
            if len(calls) > self._seen:
                for call in calls[self._seen :]:
                    chat = call.params.get("chat_id")
                    if chat is not None and chat.lstrip("-").isdigit():
                        self._by_chat[int(chat)].append(call)
                self._seen = len(calls)
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(POLL_S)

    async def wait(
        self, chat_id: int, predicate: Callable[[ApiCall], bool], within: float
    ) -> ApiCall:
        """The first call in `chat_id` that matches (chats here are used for one request)."""
        deadline = time.monotonic() + within
        while True:
            found = next((call for call in self._by_chat.get(chat_id, ()) if predicate(call)), None)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [f"{call.method}->{call.status}" for call in self.of(chat_id)]
                raise TimeoutError(f"chat {chat_id}: nothing matched in {within:.0f} s: {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


# -- figures --------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Latency:
    name: str
    samples_ms: list[float] = field(default_factory=list)

    def line(self, target_ms: float | None = None) -> str:
        if not self.samples_ms:
            return f"  {self.name:<34} no samples"
        median = statistics.median(self.samples_ms)
        p95 = _percentile(self.samples_ms, 0.95)
        text = (
            f"  {self.name:<34} median {median:7.1f} ms   p95 {p95:7.1f}"
            f" ms   max {max(self.samples_ms):7.1f} ms   (n={len(self.samples_ms)})"
        )
        if target_ms is not None:
            verdict = "met" if median <= target_ms else "MISSED"
            text += f"   target median <= {target_ms:.0f} ms: {verdict}"
        return text


@dataclass
class Burst:
    name: str
    users: int
    delivered: int = 0
    lost: int = 0
    twice: int = 0
    flood_violations: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    uploads: int = 0
    media_requests: int = 0
    keyboards_s: float = 0.0
    total_s: float = 0.0
    messages: int = 0
    messages_per_s: float = 0.0
    link_to_file_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    per_second: list[Counter[str]] = field(default_factory=list)

    def timeline(self) -> list[str]:
        """Messages accepted in each second of the burst, by method (`--timeline`)."""
        lines = [f"    {self.name}: accepted per second (total, then by method)"]
        for second, methods in enumerate(self.per_second):
            detail = " ".join(f"{name}={n}" for name, n in sorted(methods.items()))
            lines.append(f"      {second:>3} s {sum(methods.values()):>4}   {detail}")
        return lines

    def row(self) -> str:
        p50 = statistics.median(self.link_to_file_ms) / 1000 if self.link_to_file_ms else 0.0
        p95 = _percentile(self.link_to_file_ms, 0.95) / 1000 if self.link_to_file_ms else 0.0
        refused = ", ".join(f"{name}x{n}" for name, n in sorted(self.refusals.items())) or "-"
        return (
            f"  {self.name:<22} {self.users:>5} {self.delivered:>9} {self.lost:>5} {self.twice:>6}"
            f" {self.flood_violations:>6} {self.uploads:>7} {self.media_requests:>6}"
            f" {self.keyboards_s:>9.1f}"
            f" {self.total_s:>8.1f} {p50:>7.1f} {p95:>7.1f} {self.messages:>6}"
            f" {self.messages_per_s:>6.1f}   {refused}"
        )


BURST_HEADER = (
    f"  {'burst':<22} {'users':>5} {'delivered':>9} {'lost':>5} {'twice':>6} {'429s':>6}"
    f" {'uploads':>7} {'m.reqs':>6} {'keybds s':>9} {'total s':>8} {'p50 s':>7} {'p95 s':>7}"
    f" {'msgs':>6} {'msg/s':>6}   429 by method"
)


@dataclass
class ModeFigures:
    mode: str
    link_to_keyboard: list[Latency] = field(default_factory=list)
    press_to_file: Latency = field(default_factory=lambda: Latency("press -> file (cached)"))
    bursts: list[Burst] = field(default_factory=list)

    def print(self, timeline: bool = False) -> None:
        print(f"\n== {self.mode} ==")
        for latency in self.link_to_keyboard:
            print(latency.line())
        print(self.press_to_file.line(TARGETS_MS[self.mode]))
        if self.bursts:
            print(BURST_HEADER)
            for burst in self.bursts:
                print(burst.row())
                for error in burst.errors[:5]:
                    print(f"      ! {error}")
            for burst in self.bursts if timeline else []:
                print("\n".join(burst.timeline()))
        sys.stdout.flush()


# -- the scenarios --------------------------------------------------------------------------


class Bench:
    """The scenarios, run against whatever mediabot processes serve `telegram`."""

    def __init__(
        self, telegram: FakeTelegram, media: MediaSources, server: MediaServer, watcher: CallWatcher
    ) -> None:
        self.telegram = telegram
        self.media = media
        self.server = server
        self.watcher = watcher

    async def keyboard(self, chat: Conversation, url: str) -> tuple[Keyboard, float]:
        """Send `url`; the offered keyboard and the link -> keyboard time in ms."""
        sent = time.monotonic()
        chat.say(url)
        call = await self.watcher.wait(chat.chat_id, _is_choices, STEP_TIMEOUT_S)
        return _keyboard_of(call), (call.time - sent) * 1000

    async def press(
        self, chat: Conversation, keyboard: Keyboard, button: str
    ) -> tuple[ApiCall, float]:
        """Press `button`; the media send and the press -> file time in ms."""
        data = keyboard.data(button)
        pressed = time.monotonic()
        chat.press(keyboard, data)
        call = await self.watcher.wait(chat.chat_id, _is_media, STEP_TIMEOUT_S)
        return call, (call.time - pressed) * 1000

    async def deliver(self, url: str, button: str) -> ApiCall:
        """One request from a fresh chat, end to end (warms the cache)."""
        chat = Conversation(self.telegram)
        keyboard, _ = await self.keyboard(chat, url)
        call, _ = await self.press(chat, keyboard, button)
        return call

    async def link_to_keyboard(self, name: str, url: str, samples: int) -> Latency:
        latency = Latency(f"link -> keyboard ({name})")
        for _ in range(samples):
            _, ms = await self.keyboard(Conversation(self.telegram), url)
            latency.samples_ms.append(ms)
        return latency

    async def press_to_file(self, url: str, button: str, presses: int) -> Latency:
        latency = Latency("press -> file (cached)")
        for _ in range(presses):
            chat = Conversation(self.telegram)
            keyboard, _ = await self.keyboard(chat, url)
            call, ms = await self.press(chat, keyboard, button)
            if call.files:
                raise AssertionError(f"a cached press uploaded again: {call.method}")
            latency.samples_ms.append(ms)
        return latency

    async def burst(
        self, name: str, wanted: list[tuple[str, str]], *, press_together: bool = False
    ) -> Burst:
        """Every (url, button) from its own new chat, all at once, with rate limits on.

        `press_together`: every user waits for all the keyboards, then all press at once,
        so the deliveries (the workers' side) run at the rate the budget allows; messages/s
        is then counted from the presses on.
        """
        figures = Burst(name, len(wanted))
        keyboards_in = 0
        all_in = asyncio.Event()
        pressed_from = 0.0

        def keyboard_in() -> None:
            nonlocal keyboards_in, pressed_from
            keyboards_in += 1
            if keyboards_in == len(wanted):
                pressed_from = time.monotonic()
                all_in.set()

        await asyncio.sleep(1.1)  # the fake's one-second global window starts empty
        violations_before = self.telegram.flood_violations
        calls_before = len(self.telegram.calls)
        self.server.reset()
        self.telegram.enforce_rate_limits = True
        chats = [Conversation(self.telegram) for _ in wanted]
        keyboards_at: list[float] = []
        started = time.monotonic()

        async def one_user(chat: Conversation, url: str, button: str) -> float:
            said = time.monotonic()
            chat.say(url)
            stage = "no keyboard"
            try:
                try:
                    call = await self.watcher.wait(chat.chat_id, _is_choices, BURST_TIMEOUT_S)
                finally:
                    keyboard_in()
                keyboards_at.append(call.time)
                keyboard = _keyboard_of(call)
                if press_together:
                    await asyncio.wait_for(all_in.wait(), BURST_TIMEOUT_S)
                chat.press(keyboard, keyboard.data(button))
                stage = "no file"
                sent = await self.watcher.wait(chat.chat_id, _is_media, BURST_TIMEOUT_S)
            except TimeoutError:
                seen = [f"{call.method}->{call.status}" for call in self.watcher.of(chat.chat_id)]
                raise LostError(f"chat {chat.chat_id}: {stage}; its calls: {seen}") from None
            return sent.time - said

        try:
            outcomes = await asyncio.gather(
                *(
                    one_user(chat, url, button)
                    for chat, (url, button) in zip(chats, wanted, strict=True)
                ),
                return_exceptions=True,
            )
            finished = time.monotonic()
            await asyncio.sleep(SETTLE_S)  # room for a duplicate send to show up
        finally:
            self.telegram.enforce_rate_limits = False
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                figures.lost += 1
                figures.errors.append(str(outcome))
            else:
                figures.link_to_file_ms.append(outcome * 1000)
        last_media = 0.0
        for chat in chats:
            sends = [call for call in self.watcher.of(chat.chat_id) if _is_media(call)]
            if sends:
                figures.delivered += 1
                last_media = max(last_media, sends[0].time)
                figures.uploads += sum(1 for call in sends[:1] if call.files)
            if len(sends) > 1:
                figures.twice += 1
                figures.errors.append(
                    f"chat {chat.chat_id} got {len(sends)} files: {[c.method for c in sends]}"
                )
        figures.flood_violations = self.telegram.flood_violations - violations_before
        figures.refusals = Counter(
            call.method for call in self.telegram.calls[calls_before:] if call.status == 429
        )
        counted = [
            call
            for call in self.telegram.calls[calls_before:]
            if call.ok
            and _is_paced(call.method)
            and (not press_together or call.time >= pressed_from)
        ]
        paced = [call.time for call in counted]
        figures.messages = len(paced)
        if len(paced) > 1:
            figures.messages_per_s = (len(paced) - 1) / (max(paced) - min(paced))
            for call in counted:
                second = int(call.time - min(paced))
                while len(figures.per_second) <= second:
                    figures.per_second.append(Counter())
                figures.per_second[second][call.method] += 1
        figures.media_requests = len(self.server.requests)
        figures.keyboards_s = (max(keyboards_at) - started) if keyboards_at else 0.0
        figures.total_s = (last_media or finished) - started
        return figures


async def measure(
    mode: str, bench: Bench, args: argparse.Namespace, distinct: list[str]
) -> ModeFigures:
    figures = ModeFigures(mode)
    media = bench.media
    print(f"[{mode}] warming up: first delivery of the progressive MP4 at 360p", flush=True)
    first = await bench.deliver(media.progressive_mp4, "360p")
    if not first.files:
        raise AssertionError("the first delivery came from a cache: the database is not fresh")
    print(f"[{mode}] link -> keyboard, {args.samples} samples per source", flush=True)
    figures.link_to_keyboard.append(
        await bench.link_to_keyboard("progressive MP4", media.progressive_mp4, args.samples)
    )
    figures.link_to_keyboard.append(
        await bench.link_to_keyboard("DASH manifest", media.dash_mpd, args.samples)
    )
    print(f"[{mode}] press -> file, {args.presses} cached presses", flush=True)
    figures.press_to_file = await bench.press_to_file(media.progressive_mp4, "360p", args.presses)
    if args.users:
        print(
            f"[{mode}] {time.strftime('%H:%M:%S')} burst: {args.users} users, cached file",
            flush=True,
        )
        cached = [(media.progressive_mp4, "360p")] * args.users
        figures.bursts.append(await bench.burst("cached (1 media)", cached))
        print(
            f"[{mode}] {time.strftime('%H:%M:%S')} burst: {args.users} users over"
            f" {len(distinct)} new media",
            flush=True,
        )
        spread = [(distinct[n % len(distinct)], "360p") for n in range(args.users)]
        figures.bursts.append(await bench.burst(f"{len(distinct)} media downloaded", spread))
        print(
            f"[{mode}] {time.strftime('%H:%M:%S')} burst: {args.users} users, keyboards first,"
            " then all press at once (cached file)",
            flush=True,
        )
        figures.bursts.append(
            await bench.burst("cached, pressed at once", cached, press_together=True)
        )
    return figures


# -- the layouts ----------------------------------------------------------------------------


def _stop_all(processes: list[MediabotProcess]) -> list[str]:
    """SIGTERM every running process (killed if it ignores it); the complaints."""
    problems = []
    for process in processes:
        if not process.running():
            continue
        try:
            code = process.stop()
        except AssertionError:
            problems.append(f"{process.command} ignored SIGTERM and was killed")
            continue
        if code != 0:
            problems.append(f"{process.command} exited {code}; see {process.log_path}")
    return problems


@contextlib.asynccontextmanager
async def embedded(
    telegram: FakeTelegram, root: Path, overrides: dict[str, str], workers: int = 0
) -> AsyncIterator[list[MediabotProcess]]:
    """`mediabot run`, with its in-process workers (`workers` does not apply)."""
    data_dir = root / "embedded"
    env = mediabot_env(telegram, data_dir, **overrides)
    process = MediabotProcess("run", env, root / "embedded.log").start()
    try:
        await asyncio.to_thread(process.wait_for_log, "mediabot started", START_TIMEOUT_S)
        yield [process]
    finally:
        for problem in await asyncio.to_thread(_stop_all, [process]):
            print(f"[embedded] {problem}", flush=True)


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def _vhost(name: str) -> Iterator[str]:
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, AMQP_USER, ".*", ".*", ".*")
        yield f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}/{quote(name, safe='')}"
    finally:
        subprocess.run(
            ["rabbitmqctl", "--quiet", "delete_vhost", name], capture_output=True, timeout=60
        )


@contextlib.asynccontextmanager
async def _database(name: str) -> AsyncIterator[str]:
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def rabbitmq(
    telegram: FakeTelegram, root: Path, overrides: dict[str, str], workers: int = 2
) -> AsyncIterator[list[MediabotProcess]]:
    name = f"mediabot_bench_{uuid.uuid4().hex[:12]}"
    processes: list[MediabotProcess] = []
    async with _database(name) as database_url:
        # rabbitmqctl blocks for a second or two: nothing else runs yet, or any more.
        with _vhost(name.replace("_", "-")) as amqp_url:
            base = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, **overrides}

            def start(command: str, label: str) -> MediabotProcess:
                env = mediabot_env(telegram, root / label, **base)
                process = MediabotProcess(command, env, root / f"{label}.log").start()
                processes.append(process)
                return process

            try:
                migrate = start("migrate", "migrate")
                if await asyncio.to_thread(migrate.wait, START_TIMEOUT_S) != 0:
                    raise RuntimeError(f"mediabot migrate failed:\n{migrate.log[-3000:]}")
                started = [start("worker", f"worker-{n}") for n in range(workers)]
                started.append(start("bot", "bot"))
                for process in started:
                    await asyncio.to_thread(
                        process.wait_for_log, "mediabot started", START_TIMEOUT_S
                    )
                yield started
            finally:
                for problem in await asyncio.to_thread(_stop_all, processes):
                    print(f"[rabbitmq] {problem}", flush=True)


LAYOUTS = {"embedded": embedded, "rabbitmq": rabbitmq}


def _distinct_media(media: MediaSources, count: int) -> list[str]:
    """`count` links to new media: the progressive MP4 under other names, so other ids."""
    folder = media.dir / "distinct"
    folder.mkdir(exist_ok=True)
    source = media.path(media.progressive_mp4).resolve()
    urls = []
    for number in range(count):
        link = folder / f"clip{number:02d}.mp4"
        if not link.is_symlink():
            link.symlink_to(source)
        urls.append(f"{media.base_url}/distinct/clip{number:02d}.mp4")
    return urls


async def run_layout(
    mode: str,
    args: argparse.Namespace,
    media: MediaSources,
    server: MediaServer,
    distinct: list[str],
    root: Path,
) -> ModeFigures:
    overrides = {"LOG_LEVEL": args.log_level}
    for item in args.env or []:
        name, _, value = item.partition("=")
        overrides[name] = value
    (root / mode).mkdir(parents=True, exist_ok=True)
    with FakeTelegram(root / f"telegram-{mode}") as telegram:
        async with (
            LAYOUTS[mode](telegram, root / mode, overrides, args.workers) as processes,
            CallWatcher(telegram) as watcher,
        ):
            figures = await measure(mode, Bench(telegram, media, server, watcher), args, distinct)
            for process in processes:
                if not process.running():
                    raise RuntimeError(f"mediabot {process.command} died: {process.log_path}")
        problems = [
            f"{call.method}->{call.status} {call.response.get('description', '')}"
            for call in telegram.calls
            if not call.ok and call.status != 429
        ]
        if problems:
            print(f"[{mode}] {len(problems)} refused calls besides 429s:", flush=True)
            for problem, count in Counter(problems).most_common(8):
                print(f"    {count:>4} x {problem}", flush=True)
    return figures


def _summary(figures: list[ModeFigures]) -> dict[str, object]:
    summary: dict[str, object] = {}
    for mode in figures:
        summary[mode.mode] = {
            "press_to_file_ms": {
                "median": statistics.median(mode.press_to_file.samples_ms),
                "p95": _percentile(mode.press_to_file.samples_ms, 0.95),
            },
            "link_to_keyboard_ms": {
                latency.name: {
                    "median": statistics.median(latency.samples_ms),
                    "p95": _percentile(latency.samples_ms, 0.95),
                }
                for latency in mode.link_to_keyboard
            },
            "bursts": [
                {
                    "name": burst.name,
                    "users": burst.users,
                    "delivered": burst.delivered,
                    "lost": burst.lost,
                    "twice": burst.twice,
                    "flood_violations": burst.flood_violations,
                    "uploads": burst.uploads,
                    "total_s": round(burst.total_s, 2),
                    "messages": burst.messages,
                    "messages_per_s": round(burst.messages_per_s, 2),
                }
                for burst in mode.bursts
            ],
        }
    return summary


async def main(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="mediabot-bench-"))
    print(f"bench folder (logs, data dirs): {root}", flush=True)
    results: list[ModeFigures] = []
    failed = False
    try:
        tree = await asyncio.to_thread(link_media_tree, root / "media")
        with MediaServer(tree) as server:
            media = MediaSources.served_at(server.base_url, tree)
            distinct = _distinct_media(media, args.distinct)
            for mode in args.only or list(LAYOUTS):
                try:
                    figures = await run_layout(mode, args, media, server, distinct, root)
                except Exception as exc:
                    failed = True
                    print(f"[{mode}] FAILED: {type(exc).__name__}: {exc}", flush=True)
                    continue
                figures.print(args.timeline)
                results.append(figures)
    finally:
        if args.keep or failed:
            print(f"kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.json and results:
        text = json.dumps(_summary(results), indent=2)
        await asyncio.to_thread(Path(args.json).write_text, text)
    for figures in results:
        for burst in figures.bursts:
            failed = failed or bool(burst.lost or burst.twice or burst.flood_violations)
    return 1 if failed else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=30, help="cached presses per layout")
    parser.add_argument("--samples", type=int, default=15, help="link lookups per source")
    parser.add_argument("--users", type=int, default=200, help="users of a burst (0: none)")
    parser.add_argument("--distinct", type=int, default=10, help="new media of the 2nd burst")
    parser.add_argument("--only", action="append", choices=list(LAYOUTS), help="repeatable")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of the rabbitmq layout"
    )
    parser.add_argument(
        "--log-level", default="INFO", help="LOG_LEVEL of the processes (INFO, as deployed)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and data dirs")
    parser.add_argument(
        "--timeline", action="store_true", help="print each burst's messages per second"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--env",
        action="append",
        metavar="NAME=VALUE",
        help="an extra environment variable of the mediabot processes (repeatable)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(asyncio.run(main(_arguments())))
