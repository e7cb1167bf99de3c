"""Links to keyboards: how fast the lookup lane answers users at once, per layout.

Real mediabot processes against the fake Bot API (its rate limits on) and the loopback
media server, in four layouts: `mediabot run`, and `mediabot bot` with 1, 2 and 4
`mediabot worker`s on a fresh PostgreSQL database and RabbitMQ virtual host. Each layout
gets three bursts, every user in a chat of their own, all links injected at once:

- cheap: `--cheap` users (100) each send a link never seen before to a small DASH manifest;
- costly: `--costly` users (60) each send a new link to a manifest with a long
  SegmentTimeline (about 1 MB; yt-dlp spends ~130 ms of CPU reading it, as a large site's
  page costs);
- viral: `--viral` users (200) send the same new link.

Figures per burst: keyboards/s (users over the time from the first link to the last
keyboard), median and p95 time from a link to its keyboard, the bot process's CPU per link
(user + system time of `mediabot bot`, or of `mediabot run` as a whole, over the burst),
all mediabot processes' CPU per link (the bot, the workers and their lookup processes: what
bounds the keyboards/s of a machine whose cores they fill, and less sensitive than time to
a machine shared with other work),
messages per link (sends and edits in the users' chats, placeholders included) and, for the
viral burst, lookups (requests the media server got for the link, over one lookup's).

`--worker-cpus K` models one worker per machine of K cores on one machine: worker i and
every process under it (its lookup processes, their fork server) run on cores
i·K … i·K + K − 1 (modulo the machine's), and each worker runs K lookup processes
(`LOOKUP_PROCESSES`); the bot, PostgreSQL and RabbitMQ run on any core. `mediabot run`
is not pinned. A burst of zero users is skipped.

    .venv/bin/python bench/bench_lookups.py [--only run|1|2|4] [--cheap 100] [--costly 60]
        [--viral 200] [--worker-cpus K] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pipeline import embedded, rabbitmq  # noqa: E402

from tests.support.fake_telegram import ApiCall, FakeTelegram  # noqa: E402
from tests.support.media import MediaSources, link_media_tree  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.processes import MediabotProcess  # noqa: E402

BURST_TIMEOUT_S = 300.0
TIMELINE_SEGMENTS = 7_000
"""Segments of the costly manifest's timeline (0.2 s each: 80 minutes, under the duration
limit): about 0.5 MB of XML, ~130 ms of yt-dlp CPU."""
_chats = iter(range(950_000_001, 960_000_000))


def _costly_manifest() -> str:
    """A DASH manifest whose long SegmentTimeline costs yt-dlp ~130 ms of CPU to read."""
    timeline = "".join(f'<S t="{n * 200}" d="200"/>' for n in range(TIMELINE_SEGMENTS))
    representations = "".join(
        f'<Representation id="v{height}" bandwidth="{height * 2000}" width="{height * 16 // 9}"'
        f' height="{height}" codecs="avc1.64001f" mimeType="video/mp4">'
        f'<SegmentTemplate timescale="1000" media="v{height}-$Time$.m4s"'
        f' initialization="v{height}-init.mp4"><SegmentTimeline>{timeline}'
        "</SegmentTimeline></SegmentTemplate></Representation>"
        for height in (360, 720)
    )
    return (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"'
        f' mediaPresentationDuration="PT{TIMELINE_SEGMENTS // 5}S" minBufferTime="PT2S"'
        ' profiles="urn:mpeg:dash:profile:isoff-live:2011"><Period>'
        f'<AdaptationSet mimeType="video/mp4">{representations}</AdaptationSet>'
        '<AdaptationSet mimeType="audio/mp4"><Representation id="a" bandwidth="128000"'
        ' codecs="mp4a.40.2" audioSamplingRate="44100"><SegmentTemplate timescale="1000"'
        f' media="a-$Time$.m4s" initialization="a-init.mp4"><SegmentTimeline>{timeline}'
        "</SegmentTimeline></SegmentTemplate></Representation></AdaptationSet>"
        "</Period></MPD>"
    )


class Links:
    """New links on the media server: each path is served once registered."""

    def __init__(self, media: MediaSources, server: MediaServer, costly: Path) -> None:
        self._server = server
        self._cheap = media.path(media.dash_mpd).resolve()
        self._folder = media.dash_mpd.removeprefix(media.base_url + "/").rsplit("/", 1)[0]
        self._costly = costly

    def cheap(self) -> str:
        return self._add(self._cheap)

    def costly(self) -> str:
        return self._add(self._costly)

    def path_of(self, url: str) -> str:
        return url.removeprefix(self._server.base_url)

    def _add(self, file: Path) -> str:
        path = f"{self._folder}/bench-{uuid.uuid4().hex[:10]}.mpd"
        return self._server.add_file(path, file, "application/dash+xml")


@dataclass
class Figures:
    layout: str
    burst: str
    users: int
    keyboards: int
    seconds: float
    median_s: float
    p95_s: float
    bot_cpu_ms: float
    fleet_cpu_ms: float
    messages: float
    lookups: float | None = None

    def line(self) -> str:
        rate = self.keyboards / self.seconds if self.seconds else 0.0
        lookups = f" · lookups {self.lookups:.1f}" if self.lookups is not None else ""
        lost = "" if self.keyboards == self.users else f" · {self.users - self.keyboards} LOST"
        return (
            f"{self.layout:>8} {self.burst:>6} {self.users:>4} users: {rate:6.1f} keyboards/s · "
            f"median {self.median_s:5.2f} s · p95 {self.p95_s:5.2f} s · bot CPU "
            f"{self.bot_cpu_ms:6.1f} ms/link · all CPU {self.fleet_cpu_ms:6.1f} ms/link · "
            f"{self.messages:.2f} msg/link{lookups}{lost}"
        )


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds so far of the processes `pids` and all their descendants
    (a worker's lookup processes are its grandchildren, under the fork server)."""
    tree = _tree(pids)
    total = 0.0
    for pid in tree:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile: its parent counts it once reaped
        # Its own time and that of its children reaped (an ffprobe, a lookup process).
        total += sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _tree(pids: list[int]) -> set[int]:
    """The processes `pids` and all their descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    tree = set(pids)
    grown = True
    while grown:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grown = bool(found)
    return tree


def worker_cores(index: int, per_worker: int) -> set[int]:
    """The cores of worker `index` when each has `per_worker` of them (`--worker-cpus`)."""
    count = os.cpu_count() or 1
    return {(index * per_worker + n) % count for n in range(per_worker)}


def pin(pid: int, cores: set[int]) -> int:
    """Hold the process `pid`, every process under it and all their threads to `cores`
    (as `taskset -a`: a thread's affinity is its own; what they start later inherits it);
    how many threads were pinned."""
    pinned = 0
    for process in _tree([pid]):
        try:
            threads = [int(task.name) for task in Path(f"/proc/{process}/task").iterdir()]
        except OSError:
            continue  # ended meanwhile
        for thread in threads:
            try:
                os.sched_setaffinity(thread, cores)
            except OSError:
                continue
            pinned += 1
    return pinned


def _is_keyboard(call: ApiCall) -> bool:
    return (
        call.method in ("sendMessage", "editMessageText")
        and call.ok
        and "inline_keyboard" in call.params.get("reply_markup", "")
    )


async def burst(
    layout: str,
    name: str,
    telegram: FakeTelegram,
    bot: MediabotProcess,
    urls: list[str],
    fleet: list[MediabotProcess] | None = None,
) -> Figures:
    chats = [next(_chats) for _ in urls]
    wanted = {str(chat) for chat in chats}
    mark = len(telegram.calls)
    pids = [process.pid for process in fleet or [bot]]
    cpu_before = _cpu_s(bot.pid)
    fleet_before = _tree_cpu_s(pids)
    started = time.monotonic()
    sent_at = {}
    for chat, url in zip(chats, urls, strict=True):
        sent_at[str(chat)] = time.monotonic()
        telegram.inject_message(chat, url)
    answered: dict[str, float] = {}
    deadline = started + BURST_TIMEOUT_S
    while len(answered) < len(chats) and time.monotonic() < deadline:
        for call in telegram.calls[mark:]:
            to = call.params.get("chat_id", "")
            if to in wanted and to not in answered and _is_keyboard(call):
                answered[to] = call.time
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # placeholders edited late, second answers: counted below
    cpu = _cpu_s(bot.pid) - cpu_before
    fleet_cpu = _tree_cpu_s(pids) - fleet_before
    messages = sum(
        1
        for call in telegram.calls[mark:]
        if call.params.get("chat_id", "") in wanted
        and call.method in ("sendMessage", "editMessageText")
        and call.ok
    )
    waits = sorted(answered[chat] - sent_at[chat] for chat in answered)
    return Figures(
        layout=layout,
        burst=name,
        users=len(urls),
        keyboards=len(answered),
        seconds=(max(answered.values()) - started) if answered else float("inf"),
        median_s=statistics.median(waits) if waits else float("nan"),
        p95_s=waits[int(0.95 * (len(waits) - 1))] if waits else float("nan"),
        bot_cpu_ms=1000 * cpu / len(urls),
        fleet_cpu_ms=1000 * fleet_cpu / len(urls),
        messages=messages / len(urls),
    )


async def run_layout(
    layout: str, args: argparse.Namespace, links: Links, server: MediaServer, root: Path
) -> list[Figures]:
    overrides = {"LOG_LEVEL": "INFO"}
    if args.worker_cpus:
        overrides["LOOKUP_PROCESSES"] = str(args.worker_cpus)
    folder = root / f"layout-{layout}"
    folder.mkdir(parents=True, exist_ok=True)
    start = embedded if layout == "run" else rabbitmq
    workers = 0 if layout == "run" else int(layout)
    figures = []
    with FakeTelegram(folder / "telegram") as telegram:
        async with start(telegram, folder, overrides, workers) as processes:
            bot = processes[-1]
            for index, worker in enumerate(processes[:-1] if args.worker_cpus else []):
                cores = worker_cores(index, args.worker_cpus)
                threads = pin(worker.pid, cores)
                print(f"{layout:>8} worker {index}: {threads} threads on cores {sorted(cores)}")
            warm = [links.cheap() for _ in range(4)]
            await burst(layout, "warm", telegram, bot, warm)
            for name, users, link in (
                ("cheap", args.cheap, links.cheap),
                ("costly", args.costly, links.costly),
            ):
                if users:
                    urls = [link() for _ in range(users)]
                    figures.append(await burst(layout, name, telegram, bot, urls, processes))
                    print(figures[-1].line(), flush=True)
            if not args.viral:
                return figures
            alone = links.cheap()
            server.reset()
            await burst(layout, "alone", telegram, bot, [alone])
            one_lookup = max(1, server.request_count(links.path_of(alone)))
            viral = links.cheap()
            server.reset()
            viral_figures = await burst(
                layout, "viral", telegram, bot, [viral] * args.viral, processes
            )
            viral_figures.lookups = server.request_count(links.path_of(viral)) / one_lookup
            figures.append(viral_figures)
            print(figures[-1].line(), flush=True)
    return figures


async def main(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="mediabot-bench-lookups-"))
    print(f"bench folder (logs, data dirs): {root}", flush=True)
    results: list[Figures] = []
    try:
        tree = await asyncio.to_thread(link_media_tree, root / "media")
        costly = root / "costly.mpd"
        costly.write_text(_costly_manifest())
        with MediaServer(tree) as server:
            media = MediaSources.served_at(server.base_url, tree)
            links = Links(media, server, costly)
            for layout in args.only or ["run", "1", "2", "4"]:
                results.extend(await run_layout(layout, args, links, server, root))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("\nsummary", flush=True)
    for figures in results:
        print(figures.line(), flush=True)
    return 0 if all(f.keyboards == f.users for f in results) else 1


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=["run", "1", "2", "4"])
    parser.add_argument("--cheap", type=int, default=100, help="users with new cheap links")
    parser.add_argument("--costly", type=int, default=60, help="users with new costly links")
    parser.add_argument("--viral", type=int, default=200, help="users sending one link")
    parser.add_argument(
        "--worker-cpus",
        type=int,
        default=0,
        metavar="K",
        help="pin each worker to K cores of its own and give it K lookup processes",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and data dirs")
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(asyncio.run(main(_arguments())))
