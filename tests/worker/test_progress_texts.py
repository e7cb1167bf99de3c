"""Status texts."""

from __future__ import annotations

from mediabot.domain.enums import DownloadPhase
from mediabot.domain.media import DownloadProgress
from mediabot.worker.progress import describe_download, describe_upload


def test_download_progress_reads_well() -> None:
    progress = DownloadProgress(
        DownloadPhase.DOWNLOADING,
        downloaded_bytes=12_300_000,
        total_bytes=27_000_000,
        speed_bps=2_100_000,
        eta_s=7,
    )
    assert describe_download(progress) == (
        "⬇️ Downloading… 46% · 12.3 of 27.0 MB · 2.1 MB/s · ETA 0:07"
    )
    assert describe_download(DownloadProgress(DownloadPhase.PROCESSING)) == "⚙️ Processing…"


def test_upload_progress_names_the_part() -> None:
    assert describe_upload(0, 1) == "⬆️ Uploading…"
    assert describe_upload(1, 4) == "⬆️ Uploading part 2/4…"


def test_upload_progress_of_an_unknown_count_shows_no_total() -> None:
    assert describe_upload(0, None) == "⬆️ Uploading part 1…"
    assert describe_upload(2, None) == "⬆️ Uploading part 3…"
