"""A playlist's items in the database: their turn, the stack and presses counting the
playlist as one, the tally and the ✖, against both databases."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.base import utcnow
from mediabot.db.models import Playlist
from mediabot.db.repositories import (
    PlaylistRepository,
    RequestRows,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.playlist import PlaylistEntry
from tests.support.rows import add_request, add_user_and_chat

LEASE = timedelta(minutes=2)
USER = 81


async def _chosen_playlist(
    sessions: async_sessionmaker[AsyncSession], count: int, cached: set[int]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A playlist of `count` entries chosen as audio; its items' ids in turn."""
    async with sessions.begin() as session:
        user_id, chat_id = await add_user_and_chat(session, USER)
        entries = tuple(
            PlaylistEntry(
                url=f"https://youtu.be/video{index:05}",
                provider=Provider.YOUTUBE,
                media_key=f"youtube:video{index:05}",
                title=f"Video {index}",
            )
            for index in range(count)
        )
        playlists = PlaylistRepository(session)
        playlist = await playlists.add(
            Playlist(
                chat_id=chat_id,
                requested_by_id=user_id,
                request_url="https://www.youtube.com/playlist?list=PL1",
                title="A list",
                state=RequestState.OFFERED,
                entries=entries,
                status_message_id=77,
            )
        )
        assert await playlists.choose(playlist.id, MediaKind.AUDIO, None)
        assert not await playlists.choose(playlist.id, MediaKind.VIDEO, 720)  # once only
        playlist.kind, playlist.resolution = MediaKind.AUDIO, None
        items = await playlists.queue_items(playlist, cached)
        return playlist.id, [item.id for item in items]


async def _single(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with sessions.begin() as session:
        now = utcnow()
        file = await add_request(
            session,
            USER,
            "youtube:single00001",
            kind=MediaKind.AUDIO,
            state=RequestState.QUEUED,
            chosen_at=now,
            queued_at=now,
        )
        return file.id


async def _claim(
    sessions: async_sessionmaker[AsyncSession], preferred: uuid.UUID
) -> uuid.UUID | None:
    async with sessions.begin() as session:
        return await RequestRows(session).claim_fairest(preferred, "worker", LEASE, max_per_user=5)


async def _end(
    sessions: async_sessionmaker[AsyncSession], file_id: uuid.UUID, state: RequestState
) -> None:
    async with sessions.begin() as session:
        await RequestRows(session).set_state(file_id, state)


async def test_items_are_queued_cached_first_then_in_the_playlist_s_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    playlist_id, ids = await _chosen_playlist(sessions, 5, cached={3})
    async with sessions() as session:
        items = [await RequestRows(session).get(item_id) for item_id in ids]
    assert [item.media_key for item in items if item] == [
        "youtube:video00003",
        "youtube:video00000",
        "youtube:video00001",
        "youtube:video00002",
        "youtube:video00004",
    ]
    assert all(item is not None and item.status_message_id == 77 for item in items)
    assert all(item is not None and item.playlist_id == playlist_id for item in items)


async def test_items_are_worked_on_one_after_the_other(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, ids = await _chosen_playlist(sessions, 3, cached=set())
    single = await _single(sessions)
    # The last item's job takes the first item: the others wait for it to end.
    assert await _claim(sessions, ids[2]) == ids[0]
    assert await _claim(sessions, ids[2]) == single  # not a later item, though the user may
    assert await _claim(sessions, ids[2]) is None
    async with sessions.begin() as session:  # a later item's job comes back later
        assert await RequestRows(session).defer_if_waiting(ids[2])
    await _end(sessions, ids[0], RequestState.FAILED)  # a skipped item lets the next go
    assert await _claim(sessions, ids[2]) == ids[1]
    await _end(sessions, ids[1], RequestState.DELIVERED)
    assert await _claim(sessions, ids[1]) == ids[2]


async def test_the_stack_and_the_hourly_presses_count_a_playlist_as_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chosen_playlist(sessions, 50, cached=set())
    await _single(sessions)
    async with sessions() as session:
        user = await UserRepository(session).by_telegram_id(USER)
        assert user is not None
        files = RequestRows(session)
        assert await files.count_in_flight_of_user(user.id) == 2
        count, oldest = await files.presses_since(user.id, utcnow() - timedelta(hours=1))
    assert count == 2 and oldest is not None


async def test_the_tally_and_the_cancel_of_what_is_left(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    playlist_id, ids = await _chosen_playlist(sessions, 4, cached=set())
    await _end(sessions, ids[0], RequestState.DELIVERED)
    await _end(sessions, ids[1], RequestState.FAILED)
    async with sessions.begin() as session:
        playlists = PlaylistRepository(session)
        tally = await playlists.tally(playlist_id)
        assert (tally.total, tally.delivered, tally.skipped, tally.done) == (4, 1, 1, 2)
        assert not tally.finished
        assert await playlists.end_items(playlist_id, RequestState.CANCELLED, "cancelled")
        tally = await playlists.tally(playlist_id)
        assert tally.finished and tally.cancelled == 2
        playlist = await playlists.get(playlist_id)
        assert playlist is not None and playlist.state is RequestState.CANCELLED
        assert not await playlists.end_items(playlist_id, RequestState.CANCELLED, "again")


async def test_a_playlist_whose_items_all_ended_is_ended_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    playlist_id, ids = await _chosen_playlist(sessions, 2, cached=set())
    for item_id in ids:
        await _end(sessions, item_id, RequestState.DELIVERED)
    async with sessions.begin() as session:
        playlists = PlaylistRepository(session)
        assert (await playlists.tally(playlist_id)).finished
        assert await playlists.end(playlist_id, RequestState.DELIVERED)
        assert not await playlists.end(playlist_id, RequestState.DELIVERED), "its last word once"
        playlist = await playlists.get(playlist_id)
        assert playlist is not None and playlist.state is RequestState.DELIVERED


async def test_status_edits_are_allowed_until_the_end_and_the_end_waits_for_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    playlist_id, _ = await _chosen_playlist(sessions, 2, cached=set())
    async with sessions.begin() as session:
        playlists = PlaylistRepository(session)
        assert await playlists.status_settles_in(playlist_id) == 0.0, "no edit on its way"
        assert await playlists.allow_status_edit(playlist_id, 3.0)
        assert await playlists.allow_status_edit(playlist_id, 0.5), "a shorter window"
        assert await playlists.end(playlist_id, RequestState.DELIVERED)
        # The longest window allowed (3 s) and the time an edit takes to land (1 s).
        assert 3.0 < await playlists.status_settles_in(playlist_id) <= 4.0
        assert not await playlists.allow_status_edit(playlist_id, 3.0), "none after the end"
        await _set_edits_until(session, playlist_id, utcnow() - timedelta(seconds=30))
        assert await playlists.status_settles_in(playlist_id) == 0.0, "long landed"
        await _set_edits_until(session, playlist_id, utcnow() + timedelta(hours=1))
        assert await playlists.status_settles_in(playlist_id) <= 6.0, "a skewed clock"


async def _set_edits_until(session: AsyncSession, playlist_id: uuid.UUID, until: datetime) -> None:
    playlist = await session.get(Playlist, playlist_id)
    assert playlist is not None
    playlist.status_edits_until = until
    await session.flush()
