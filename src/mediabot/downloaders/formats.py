"""Reading yt-dlp info dictionaries: heights, size estimates, photos, codecs. Pure functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mediabot.domain.media import Resolution

InfoDict = dict[str, Any]

LIVE_STATES = frozenset({"is_live", "is_upcoming", "post_live"})


def is_collection(info: InfoDict) -> bool:
    """A playlist-shaped result: a carousel post, a playlist."""
    return info.get("_type") == "playlist" or "entries" in info


def entries_of(info: InfoDict) -> list[InfoDict]:
    """The items of a collection, or the info itself."""
    if is_collection(info):
        return [entry for entry in info.get("entries") or [] if entry]
    return [info]


def is_live(info: InfoDict) -> bool:
    return bool(info.get("is_live")) or info.get("live_status") in LIVE_STATES


def has_video(info: InfoDict) -> bool:
    formats = info.get("formats") or ([info] if info.get("url") else [])
    return any(_is_video(f) for f in formats)


def is_photo(info: InfoDict) -> bool:
    """An image-only item: no playable formats, but image URLs (Instagram photo posts)."""
    return not info.get("formats") and not info.get("url") and bool(photo_candidates(info))


def photo_candidates(info: InfoDict) -> list[InfoDict]:
    """The item's image URLs, largest first (`url`, `width`, `height`)."""
    thumbnails = [t for t in info.get("thumbnails") or [] if t.get("url")]
    if not thumbnails and info.get("thumbnail"):
        thumbnails = [{"url": info["thumbnail"]}]
    indexed = list(enumerate(thumbnails))
    # Larger images first; among equals, yt-dlp's order (best last) decides.
    indexed.sort(key=lambda pair: (_area(pair[1]), pair[0]), reverse=True)
    return [thumbnail for _, thumbnail in indexed]


def heights(info: InfoDict) -> tuple[int, ...]:
    """Every video height the item offers, lowest first."""
    return tuple(sorted({int(f["height"]) for f in info.get("formats") or [] if _has_height(f)}))


def resolutions(info: InfoDict) -> tuple[Resolution, ...]:
    """Heights with the estimated size of the download our selector would make."""
    audio = best_audio(info)
    audio_bytes = estimated_bytes(audio, info) if audio else None
    result = []
    for height in heights(info):
        video = best_video_at(info, height)
        size = estimated_bytes(video, info) if video else None
        if size is not None and video is not None and _is_video_only(video):
            size = size + audio_bytes if audio_bytes is not None else size
        result.append(Resolution(height=height, estimated_bytes=size))
    return tuple(result)


def best_video_at(info: InfoDict, height: int) -> InfoDict | None:
    """The format the video selector prefers at `height` (avc1 first, then bitrate)."""
    candidates = [f for f in info.get("formats") or [] if _has_height(f) and f["height"] == height]
    return _preferred(
        candidates,
        lambda f: (
            str(f.get("vcodec") or "").startswith("avc1"),
            _is_video_only(f),
            f.get("tbr") or 0,
        ),
    )


def best_audio(info: InfoDict) -> InfoDict | None:
    """The audio-only format the audio selector prefers (AAC first, then bitrate)."""
    candidates = [f for f in info.get("formats") or [] if _is_audio_only(f)]
    return _preferred(
        candidates,
        lambda f: (
            str(f.get("acodec") or "").startswith("mp4a"),
            f.get("abr") or f.get("tbr") or 0,
        ),
    )


def _preferred(candidates: list[InfoDict], rank: Callable[[InfoDict], Any]) -> InfoDict | None:
    """The candidate of the highest `rank`, None without candidates."""
    return max(candidates, key=rank) if candidates else None


def audio_estimate(info: InfoDict) -> int | None:
    """Estimated size of the audio-only download, when known."""
    audio = best_audio(info)
    if audio is not None:
        return estimated_bytes(audio, info)
    muxed = [f for f in info.get("formats") or [] if _is_video(f) and f.get("acodec") != "none"]
    if not muxed:
        return None
    abr = min((f.get("abr") or 0) for f in muxed)
    duration = info.get("duration")
    return int(abr * 1000 / 8 * duration) if abr and duration else None


def has_audio(info: InfoDict) -> bool:
    formats = info.get("formats") or []
    # `None` means yt-dlp does not know: a direct file usually has sound.
    return any(f.get("acodec") != "none" for f in formats)


def audio_codec_family(info: InfoDict) -> str:
    """`"aac"` when the source offers AAC, `"other"` when its codecs are known and none is
    AAC, `"unknown"` when yt-dlp does not know the codecs."""
    codecs = [f.get("acodec") for f in info.get("formats") or [] if f.get("acodec") != "none"]
    if any(str(codec).startswith(("mp4a", "aac")) for codec in codecs if codec):
        return "aac"
    if codecs and all(codecs):
        return "other"
    return "unknown"


def estimated_bytes(fmt: InfoDict, info: InfoDict) -> int | None:
    """Bytes: the exact size, the approximate one, or bitrate × duration."""
    for key in ("filesize", "filesize_approx"):
        if fmt.get(key):
            return int(fmt[key])
    tbr = fmt.get("tbr")
    duration = fmt.get("duration") or info.get("duration") or _fragments_duration(fmt)
    if tbr and duration:
        return int(tbr * 1000 / 8 * duration)
    return None


def duration_of(info: InfoDict) -> float | None:
    """The item's duration: yt-dlp's, or the length of its first segmented format."""
    if info.get("duration"):
        return float(info["duration"])
    for fmt in info.get("formats") or []:
        if total := _fragments_duration(fmt):
            return total
    return None


def _fragments_duration(fmt: InfoDict) -> float | None:
    fragments = fmt.get("fragments") or []
    total = sum(float(f.get("duration") or 0) for f in fragments if isinstance(f, dict))
    return total or None


def _area(thumbnail: InfoDict) -> int:
    return int(thumbnail.get("width") or 0) * int(thumbnail.get("height") or 0)


def _is_video(fmt: InfoDict) -> bool:
    return fmt.get("vcodec") != "none" and fmt.get("video_ext") != "none"


def _has_height(fmt: InfoDict) -> bool:
    return _is_video(fmt) and bool(fmt.get("height"))


def _is_video_only(fmt: InfoDict) -> bool:
    return _is_video(fmt) and fmt.get("acodec") == "none"


def _is_audio_only(fmt: InfoDict) -> bool:
    return fmt.get("vcodec") == "none" and fmt.get("acodec") != "none"


def title_of(info: InfoDict) -> str:
    title = info.get("title") or info.get("fulltitle") or info.get("id") or "media"
    return str(title)


def thumbnail_url_of(info: InfoDict) -> str | None:
    if info.get("thumbnail"):
        return str(info["thumbnail"])
    candidates = [t for t in info.get("thumbnails") or [] if t.get("url")]
    return str(candidates[-1]["url"]) if candidates else None


def uploader_of(info: InfoDict) -> str | None:
    for key in ("uploader", "channel", "uploader_id", "creator"):
        value = info.get(key)
        if value:
            return str(value)
    return None
