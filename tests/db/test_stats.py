"""/stats against both databases: ten thousand generated requests, every figure checked
against a count made here in Python; on PostgreSQL, EXPLAIN of every query the statistics
ran shows no sequential scan of the large tables (files, file_parts)."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mediabot.db.base import utcnow
from mediabot.db.engine import create_session_factory
from mediabot.db.models import Chat, FilePart, ProviderRow, RequestRow, User
from mediabot.db.stats import collect
from mediabot.domain.enums import MediaKind, RequestState

FILES = 10_000
USERS = 200
GROUPS = 60
MEDIA = 600


class _Data:
    """The generated rows, kept in Python to count the expected figures."""

    def __init__(self, now: datetime, providers: dict[uuid.UUID, str]) -> None:
        rng = random.Random(10)
        self.now = now
        self.users = [
            {"id": uuid.uuid4(), "telegram_id": 5000 + n, "first_name": f"U{n}", "username": None}
            for n in range(USERS)
        ]
        self.private = {
            user["id"]: {
                "id": uuid.uuid4(),
                "telegram_id": user["telegram_id"],
                "user_id": user["id"],
                "type": "private",
            }
            for user in self.users
        }
        self.groups = [
            {
                "id": uuid.uuid4(),
                "telegram_id": -100_000 - n,
                "user_id": rng.choice(self.users)["id"],
                "type": "supergroup",
            }
            for n in range(GROUPS)
        ]
        provider_ids = list(providers)
        self.providers = providers
        self.files: list[dict[str, Any]] = []
        self.parts: list[dict[str, Any]] = []
        weights = [1 / (n + 1) for n in range(USERS)]
        media_weights = [1 / (n + 1) ** 0.8 for n in range(MEDIA)]
        states = list(RequestState)
        for _ in range(FILES):
            user = rng.choices(self.users, weights)[0]
            chat = self.private[user["id"]] if rng.random() < 0.7 else rng.choice(self.groups)
            media = rng.choices(range(MEDIA), media_weights)[0]
            state = rng.choice(states)
            created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            chosen = None if state is RequestState.OFFERED else created + timedelta(seconds=3)
            finished = (
                chosen + timedelta(seconds=rng.uniform(1, 600))
                if chosen is not None and state.is_final
                else None
            )
            self.files.append(
                {
                    "id": uuid.uuid4(),
                    "chat_id": chat["id"],
                    "provider_id": provider_ids[media % len(provider_ids)],
                    "requested_by_id": user["id"],
                    "request_url": f"https://example.com/{media}",
                    "media_key": f"generic:{media:04d}",
                    "kind": MediaKind.VIDEO if chosen else None,
                    "resolution": 720 if chosen else None,
                    "state": state,
                    "title": f"Title {media}",
                    "size_bytes": rng.randint(1, 10**9)
                    if state is RequestState.DELIVERED
                    else None,
                    "created_at": created,
                    "updated_at": finished or chosen or created,
                    "chosen_at": chosen,
                    "finished_at": finished,
                    "attempts": 0,
                }
            )
        self.hits = 0
        first_upload: dict[str, str] = {}
        delivered = [f for f in self.files if f["state"] is RequestState.DELIVERED]
        for file in sorted(delivered, key=lambda f: f["finished_at"]):
            known = first_upload.get(file["media_key"])
            if known is not None and rng.random() < 0.6:
                unique, self.hits = known, self.hits + 1
            else:
                unique = uuid.uuid4().hex
                first_upload.setdefault(file["media_key"], unique)
            for index in range(rng.choice((1, 1, 2))):
                self.parts.append(
                    {
                        "id": uuid.uuid4(),
                        "file_id": file["id"],
                        "index": index,
                        "kind": MediaKind.VIDEO,
                        "telegram_file_id": f"{unique}-{index}",
                        "telegram_file_unique_id": unique if index == 0 else uuid.uuid4().hex,
                        "size_bytes": 1,
                        "created_at": file["finished_at"] + timedelta(milliseconds=index),
                    }
                )

    async def insert(self, session: AsyncSession) -> None:
        await session.execute(insert(User), self.users)
        await session.execute(insert(Chat), [*self.private.values(), *self.groups])
        for start in range(0, len(self.files), 2000):
            await session.execute(insert(RequestRow), self.files[start : start + 2000])
        await session.execute(insert(FilePart), self.parts)
        await session.commit()


def _active(data: _Data, days: int) -> int:
    since = data.now - timedelta(days=days)
    return len({f["requested_by_id"] for f in data.files if f["created_at"] >= since})


@pytest.fixture
async def data(engine: AsyncEngine) -> _Data:
    async with create_session_factory(engine)() as session:
        rows = (await session.execute(select(ProviderRow.id, ProviderRow.display_name))).all()
        generated = _Data(utcnow(), {row[0]: row[1] for row in rows})
        await generated.insert(session)
    return generated


async def test_every_figure_matches_a_count_made_in_python(
    engine: AsyncEngine, data: _Data
) -> None:
    async with create_session_factory(engine)() as session:
        stats = await collect(session, data.now)

    files = data.files
    assert stats.users == USERS
    assert stats.active_day == _active(data, 1)
    assert stats.active_week == _active(data, 7)
    assert 0 < stats.active_day < stats.active_week <= USERS
    assert stats.by_provider == dict(Counter(data.providers[f["provider_id"]] for f in files))
    assert stats.by_state == dict(Counter(f["state"].value for f in files))
    delivered = [f for f in files if f["state"] is RequestState.DELIVERED]
    assert stats.delivered == len(delivered)
    assert stats.cache_hits == data.hits > 0
    assert stats.bytes_delivered == sum(f["size_bytes"] for f in delivered)
    median = statistics.median(
        (f["finished_at"] - f["chosen_at"]).total_seconds() for f in delivered
    )
    assert stats.median_press_to_file_s == pytest.approx(median, abs=0.01)

    chosen = [f for f in files if f["chosen_at"] is not None]
    per_user = Counter(f["requested_by_id"] for f in chosen)
    groups: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    group_ids = {g["id"] for g in data.groups}
    for f in chosen:
        if f["chat_id"] in group_ids:
            groups[f["requested_by_id"]].add(f["chat_id"])
    by_id = {u["id"]: u for u in data.users}
    expected_users = sorted(per_user, key=lambda u: (-per_user[u], by_id[u]["telegram_id"]))[:5]
    assert [(u.telegram_id, u.requests, u.groups) for u in stats.top_users] == [
        (by_id[u]["telegram_id"], per_user[u], len(groups[u])) for u in expected_users
    ]
    per_media = Counter(f["media_key"] for f in chosen)
    people: dict[str, set[uuid.UUID]] = defaultdict(set)
    for f in chosen:
        people[f["media_key"]].add(f["requested_by_id"])
    expected_media = sorted(per_media, key=lambda key: (-per_media[key], key))[:5]
    assert [(m.media_key, m.requests, m.people, m.title) for m in stats.top_media] == [
        (key, per_media[key], len(people[key]), f"Title {int(key[-4:])}") for key in expected_media
    ]


@pytest.mark.parametrize("migrated_db_url", ["postgresql"], indirect=True)
async def test_no_query_scans_a_whole_large_table(engine: AsyncEngine, data: _Data) -> None:
    """Each statistics query has an index to go by: with sequential scans priced out
    (`enable_seqscan = off`), a plan still showing one would have no index to use.
    PostgreSQL only: its plans are the ones that matter in production."""
    assert engine.dialect.name == "postgresql"
    ran: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        ran.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with create_session_factory(engine)() as session:
            await collect(session, data.now)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    queries = [(sql, params) for sql, params in ran if sql.lstrip().upper().startswith("SELECT")]
    assert len(queries) >= 7
    async with engine.connect() as connection:
        await connection.exec_driver_sql("ANALYZE")
        await connection.exec_driver_sql("SET enable_seqscan = off")
        for sql, params in queries:
            plan = "\n".join(
                row[0] for row in await connection.exec_driver_sql("EXPLAIN " + sql, params)
            )
            for table in ("files", "file_parts"):
                assert f"Seq Scan on {table}" not in plan, f"{sql}\n{plan}"
