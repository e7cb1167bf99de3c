"""A playlist link's flat listing through yt-dlp, on a loopback feed: capped, each item
with the key its own lookup records, what is not an item left out, the guard kept."""

from __future__ import annotations

from typing import Any

import pytest

from mediabot.domain.enums import Provider
from mediabot.downloaders.errors import (
    NotFoundError,
    PrivateAddressError,
    UnsupportedLinkError,
)
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.playlists import get_playlist
from mediabot.downloaders.registry import get_resolutions
from mediabot.downloaders.sites.generic import GenericDownloader
from tests.support.feeds import distinct_items, podcast_feed
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

LOOPBACK = DownloadOptions(allow_private_urls=True)


async def test_a_feed_is_listed_capped_with_each_item_keyed_as_its_own_lookup(
    media: MediaSources, media_requests: MediaServer
) -> None:
    links = distinct_items(media_requests, media, "feed", 8)
    lengths = [f"1:0{number}" for number in range(1, 9)]
    url = podcast_feed(media_requests, "/feed.xml", links, lengths=lengths)
    playlist = await get_playlist(url, LOOPBACK, max_items=5)
    assert playlist.title == "Feed"
    assert [entry.url for entry in playlist.entries] == links[:5]
    assert [entry.title for entry in playlist.entries] == [f"Feed item {n}" for n in range(1, 6)]
    assert playlist.total_count == 8 and playlist.capped
    assert playlist.duration_s == sum(60 + n for n in range(1, 6))
    # Only the listing was read: no item was fetched.
    assert all(media_requests.request_count(f"/feed/item{n}.mp4") == 0 for n in range(1, 9))
    # The key a lookup of the item's own link records: the cache serves one for the other.
    single = await get_resolutions(links[0], LOOPBACK)
    assert playlist.entries[0].media_key == single.media_key


async def test_a_hostile_playlist_of_thousands_is_cut_to_the_cap(
    media_requests: MediaServer,
) -> None:
    links = [f"{media_requests.base_url}/huge/{index}.mp4" for index in range(3000)]
    url = podcast_feed(media_requests, "/huge.xml", links)
    playlist = await get_playlist(url, LOOPBACK, max_items=50)
    assert [entry.url for entry in playlist.entries] == links[:50]
    assert playlist.total_count == 3000


async def test_a_link_that_is_no_playlist_is_refused(media: MediaSources) -> None:
    with pytest.raises(UnsupportedLinkError):
        await get_playlist(media.progressive_mp4, LOOPBACK, max_items=5)


async def test_a_feed_on_a_private_address_is_refused_by_the_guard(
    media_requests: MediaServer,
) -> None:
    url = podcast_feed(media_requests, "/private.xml", [f"{media_requests.base_url}/x.mp4"])
    with pytest.raises(PrivateAddressError):
        await get_playlist(url, DownloadOptions(), max_items=5)


async def test_nested_linkless_and_foreign_entries_are_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing: dict[str, Any] = {
        "_type": "playlist",
        "title": "Mixed",
        "playlist_count": 6,
        "entries": [
            {
                "_type": "url",
                "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "ie_key": "Youtube",
                "id": "dQw4w9WgXcQ",
                "duration": 212,
            },
            {"_type": "playlist", "title": "Nested", "entries": []},
            {
                "_type": "url",
                "url": "https://www.youtube.com/playlist?list=PL1",
                "ie_key": "YoutubeTab",
                "entries": None,
            },
            {"_type": "url", "title": "No link"},
            {"_type": "url", "url": "file:///etc/passwd"},
            {
                "_type": "url_transparent",
                "url": "https://cdn.example/a.mp4#__youtubedl_smuggle=%7B%22force_videoid%22%3A+%22g1%22%7D",
                "title": "Smuggled",
            },
            None,
        ],
    }

    async def listed(cls: type, url: str, options: DownloadOptions, max_items: int) -> Any:
        return listing

    monkeypatch.setattr(GenericDownloader, "list_playlist", classmethod(listed))
    playlist = await get_playlist("https://lists.example/mixed", DownloadOptions(), max_items=50)
    assert [(entry.provider, entry.url) for entry in playlist.entries] == [
        (Provider.YOUTUBE, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        (Provider.GENERIC, "https://cdn.example/a.mp4"),
    ]
    assert playlist.entries[0].media_key == "youtube:dQw4w9WgXcQ"
    assert playlist.entries[0].duration_s == 212
    assert playlist.skipped == 5


async def test_an_item_listed_twice_is_offered_once(
    media: MediaSources, media_requests: MediaServer
) -> None:
    """A repeat is the same media however it is linked (here YouTube's two link forms):
    it would be delivered twice, once from the cache."""
    first, second = distinct_items(media_requests, media, "repeats", 2)
    watch = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    short = "https://youtu.be/dQw4w9WgXcQ?si=shared"
    url = podcast_feed(media_requests, "/repeats.xml", [first, watch, first, second, short])
    playlist = await get_playlist(url, LOOPBACK, max_items=50)
    assert [entry.url for entry in playlist.entries] == [first, watch, second]
    assert playlist.skipped == 2


async def test_a_playlist_with_no_usable_entry_is_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def listed(cls: type, url: str, options: DownloadOptions, max_items: int) -> Any:
        return {"_type": "playlist", "entries": [{"_type": "playlist", "entries": []}]}

    monkeypatch.setattr(GenericDownloader, "list_playlist", classmethod(listed))
    with pytest.raises(NotFoundError):
        await get_playlist("https://lists.example/empty", DownloadOptions(), max_items=50)
