"""Settings and forms in the database (both databases): stored per user, recorded per
request, and a key of the cache and of twins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mediabot.db.base import utcnow
from mediabot.db.engine import create_session_factory
from mediabot.db.models import FilePart, RequestRow, User
from mediabot.db.repositories import RequestRows, TelegramUser, UserRepository
from mediabot.db.repositories.users import SETTINGS_ORDER_WINDOW
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Variant
from mediabot.domain.preferences import DefaultChoice, DeliveryForm, Preferences
from tests.db.test_repositories import _offer as offer_of

KEY = "youtube:formkey"


async def _offer(session: AsyncSession, telegram_id: int) -> RequestRow:
    return await offer_of(session, telegram_id, KEY)


async def test_a_users_settings_are_stored_one_at_a_time(engine: AsyncEngine) -> None:
    async with create_session_factory(engine).begin() as session:
        users = UserRepository(session)
        user_id = await users.upsert(TelegramUser(61, "Ann"))
        assert await users.preferences(user_id) == Preferences()
        await users.set_preferences(user_id, default=DefaultChoice.UP_TO_1080)
        await users.set_preferences(user_id, form=DeliveryForm.DOCUMENT)
    async with create_session_factory(engine)() as session:
        stored = await UserRepository(session).preferences(user_id)
    assert stored == Preferences(DefaultChoice.UP_TO_1080, DeliveryForm.DOCUMENT)


async def test_the_cache_and_twins_keep_the_forms_apart(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        files = RequestRows(session)
        as_video = await _offer(session, 71)
        await files.choose(as_video.id, Variant(MediaKind.VIDEO, 720))
        as_file = await _offer(session, 72)
        await files.choose(as_file.id, Variant(MediaKind.VIDEO, 720, DeliveryForm.DOCUMENT))
        await files.set_state(as_video.id, RequestState.DELIVERED)
        await files.add_part(
            as_video.id,
            FilePart(
                index=0, kind=MediaKind.VIDEO, telegram_file_id="v", telegram_file_unique_id="u"
            ),
        )
    async with sessions() as session:
        files = RequestRows(session)
        hit = await files.find_delivered(KEY, Variant(MediaKind.VIDEO, 720))
        assert hit is not None and hit.id == as_video.id
        assert (
            await files.find_delivered(KEY, Variant(MediaKind.VIDEO, 720, DeliveryForm.DOCUMENT))
            is None
        )
        stored = await files.get(as_file.id)
        assert stored is not None and stored.form is DeliveryForm.DOCUMENT
        again = await files.again(hit, hit.chat_id, as_file.requested_by_id)  # type: ignore[arg-type]
        assert again.form is DeliveryForm.MEDIA

    async with sessions.begin() as session:
        files = RequestRows(session)
        fetching = await _offer(session, 73)
        await files.choose(fetching.id, Variant(MediaKind.VIDEO, 720))
        await files.set_state(fetching.id, RequestState.DOWNLOADING, lease_owner="w1")
        fetching.lease_expires_at = utcnow().replace(year=2100)
        await session.flush()
        same_form = await _offer(session, 74)
        await files.choose(same_form.id, Variant(MediaKind.VIDEO, 720))
        other_form = await files.get(as_file.id)
        assert other_form is not None
        assert await files.being_fetched(same_form, ordered=False)
        assert not await files.being_fetched(other_form, ordered=False)


async def test_presses_stored_out_of_order_leave_the_last_pressed(engine: AsyncEngine) -> None:
    """Each setting keeps the value of the latest update that set it, whatever order the
    presses are stored in; an order a day old holds nothing back (Telegram may number
    updates afresh after a week without any)."""
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        user_id = await UserRepository(session).upsert(TelegramUser(62, "Bob"))

    async def press(update_id: int | None, **change: Any) -> Preferences:
        async with sessions.begin() as session:
            users = UserRepository(session)
            await users.set_preferences(user_id, update_id=update_id, **change)
            return await users.preferences(user_id)

    assert await press(505, default=DefaultChoice.AUDIO) == Preferences(DefaultChoice.AUDIO)
    assert await press(504, default=DefaultChoice.UP_TO_360) == Preferences(DefaultChoice.AUDIO)
    assert await press(503, form=DeliveryForm.DOCUMENT) == Preferences(
        DefaultChoice.AUDIO, DeliveryForm.DOCUMENT
    )
    assert await press(506, default=DefaultChoice.UP_TO_480) == Preferences(
        DefaultChoice.UP_TO_480, DeliveryForm.DOCUMENT
    )
    async with sessions.begin() as session:
        await session.execute(
            update(User)
            .where(User.id == user_id)
            .values(default_choice_set_at=utcnow() - SETTINGS_ORDER_WINDOW - timedelta(seconds=1))
        )
    assert await press(7, default=DefaultChoice.ASK) == Preferences(
        DefaultChoice.ASK, DeliveryForm.DOCUMENT
    )
