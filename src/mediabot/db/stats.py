"""The admins' statistics (/stats), counted by the database.

Each figure is one query over indexed columns (the indexes are named where they serve):
users and their activity (a nested EXISTS per user on `ix_files_requester_created`),
requests by provider (JOIN providers) and by state, deliveries with their cache hits (a
nested EXISTS: the first part's Telegram file was sent earlier for another request, on
`ix_file_parts_unique_created`) and bytes, the median time from the button press to the
file, the most active users (JOIN files and chats) and the most asked media (JOIN providers).

The median is `percentile_cont` on PostgreSQL; SQLite has no percentile, so there it is the
middle row (or the mean of the two middle rows) of the ordered durations, fetched with
LIMIT/OFFSET after a count: two small queries, nothing held in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, distinct, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mediabot.db.models import Chat, FilePart, ProviderRow, RequestRow, User
from mediabot.domain.enums import RequestState

TOP = 5


@dataclass(frozen=True, slots=True)
class TopUser:
    telegram_id: int
    username: str | None
    first_name: str
    requests: int
    groups: int
    """Distinct group chats the user asked in."""


@dataclass(frozen=True, slots=True)
class TopMedia:
    media_key: str
    provider: str
    title: str | None
    requests: int
    people: int


@dataclass(frozen=True, slots=True)
class Stats:
    users: int
    active_day: int
    active_week: int
    by_provider: dict[str, int]
    by_state: dict[str, int]
    delivered: int
    cache_hits: int
    bytes_delivered: int
    median_press_to_file_s: float | None
    top_users: list[TopUser]
    top_media: list[TopMedia]

    @property
    def cache_hit_rate(self) -> float:
        return self.cache_hits / self.delivered if self.delivered else 0.0


def _active_since(since: datetime) -> Any:
    """Users who sent a link since `since` (a nested SELECT per user)."""
    sent = select(RequestRow.id).where(
        RequestRow.requested_by_id == User.id, RequestRow.created_at >= since
    )
    return select(func.count()).select_from(User).where(sent.exists()).scalar_subquery()


def _cache_hit() -> Any:
    """A delivered request whose first part is a Telegram file sent earlier for another one."""
    part = aliased(FilePart)
    earlier = aliased(FilePart)
    return (
        select(part.id)
        .join(
            earlier,
            and_(
                earlier.telegram_file_unique_id == part.telegram_file_unique_id,
                earlier.created_at < part.created_at,
                earlier.file_id != part.file_id,
            ),
        )
        .where(part.file_id == RequestRow.id, part.index == 0)
        .exists()
    )


_DELIVERED_TIMED = and_(
    RequestRow.state == RequestState.DELIVERED,
    RequestRow.chosen_at.is_not(None),
    RequestRow.finished_at.is_not(None),
)


async def _median_press_to_file(session: AsyncSession) -> float | None:
    if session.get_bind().dialect.name == "postgresql":
        seconds: Any = extract("epoch", RequestRow.finished_at - RequestRow.chosen_at)
        statement = select(func.percentile_cont(0.5).within_group(seconds)).where(_DELIVERED_TIMED)
        median = await session.scalar(statement)
        return None if median is None else float(median)
    seconds = (
        func.julianday(RequestRow.finished_at) - func.julianday(RequestRow.chosen_at)
    ) * 86400.0
    count = int(await session.scalar(select(func.count()).where(_DELIVERED_TIMED)) or 0)
    if not count:
        return None
    middle = (
        select(seconds)
        .where(_DELIVERED_TIMED)
        .order_by(seconds)
        .limit(2 - count % 2)
        .offset((count - 1) // 2)
    )
    values = [float(value) for value in (await session.scalars(middle)).all()]
    return sum(values) / len(values)


async def _top(
    session: AsyncSession, statement: Select[*tuple[Any, ...]], *, tie: Any
) -> Sequence[Any]:
    """The `TOP` rows of `statement` (grouped) over the requests chosen, those with the
    most requests first, then by `tie`."""
    ranked = (
        statement.where(RequestRow.chosen_at.is_not(None))
        .order_by(func.count(RequestRow.id).desc(), tie)
        .limit(TOP)
    )
    return (await session.execute(ranked)).all()


async def collect(session: AsyncSession, now: datetime) -> Stats:
    """Every figure of /stats as of `now`."""
    users_row = (
        await session.execute(
            select(
                select(func.count()).select_from(User).scalar_subquery(),
                _active_since(now - timedelta(days=1)),
                _active_since(now - timedelta(days=7)),
            )
        )
    ).one()
    by_provider = (
        await session.execute(
            select(ProviderRow.display_name, func.count())
            .join(RequestRow, RequestRow.provider_id == ProviderRow.id)
            .group_by(ProviderRow.display_name)
            .order_by(func.count().desc(), ProviderRow.display_name)
        )
    ).all()
    by_state = (
        await session.execute(
            select(RequestRow.state, func.count())
            .group_by(RequestRow.state)
            .order_by(RequestRow.state)
        )
    ).all()
    delivered, hits, size = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((_cache_hit(), 1), else_=0)), 0),
                func.coalesce(func.sum(RequestRow.size_bytes), 0),
            ).where(RequestRow.state == RequestState.DELIVERED)
        )
    ).one()
    top_users = await _top(
        session,
        select(
            User.telegram_id,
            User.username,
            User.first_name,
            func.count(RequestRow.id),
            func.count(distinct(case((Chat.type != "private", Chat.id)))),
        )
        .join(RequestRow, RequestRow.requested_by_id == User.id)
        .join(Chat, Chat.id == RequestRow.chat_id)
        .group_by(User.id, User.telegram_id, User.username, User.first_name),
        tie=User.telegram_id,
    )
    top_media = await _top(
        session,
        select(
            RequestRow.media_key,
            ProviderRow.display_name,
            func.max(RequestRow.title),
            func.count(RequestRow.id),
            func.count(distinct(RequestRow.requested_by_id)),
        )
        .join(ProviderRow, ProviderRow.id == RequestRow.provider_id)
        .group_by(RequestRow.media_key, ProviderRow.display_name),
        tie=RequestRow.media_key,
    )
    return Stats(
        users=int(users_row[0]),
        active_day=int(users_row[1]),
        active_week=int(users_row[2]),
        by_provider={str(name): int(count) for name, count in by_provider},
        by_state={str(state.value): int(count) for state, count in by_state},
        delivered=int(delivered),
        cache_hits=int(hits),
        bytes_delivered=int(size),
        median_press_to_file_s=await _median_press_to_file(session),
        top_users=[
            TopUser(int(tid), username, first_name or "", int(count), int(groups))
            for tid, username, first_name, count, groups in top_users
        ],
        top_media=[
            TopMedia(str(key), str(provider), title, int(count), int(people))
            for key, provider, title, count, people in top_media
        ],
    )
