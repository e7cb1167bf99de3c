"""Who an update comes from, recorded and read back in one round trip.

Every update of a person upserts their `users` row and the chat's `chats` row, and then
needs what those rows say: the language the user chose and whether they are banned. On
PostgreSQL that is one statement (the two upserts as data-modifying CTEs, the answer read
from what they return) on an autocommit connection: no transaction to open and commit, no
connection held by the update afterwards. SQLite, which has no data-modifying CTEs, runs
the same upserts one after the other in one short transaction.

The same statement can take the update's claim as well (`db.updates`: `visit_statement`
with `taking`), so that claiming an update and recording who sent it is one round trip.

The rows are written as `UserRepository.upsert` and `ChatRepository.upsert` write them:
the user's names and Telegram language refreshed; the chat's type and title refreshed and
a block lifted (it wrote, so it can be written to), its owner the first user seen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, Uuid, bindparam, func, literal, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mediabot.db.base import utcnow
from mediabot.db.engine import autocommit
from mediabot.db.models import Chat, User
from mediabot.db.repositories import TelegramChat, TelegramUser


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who an update comes from: a person, and the chat they wrote in (None: an update
    without one, as an inline query)."""

    user: TelegramUser
    chat: TelegramChat | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """The rows of an update's user and chat, and what they say of the user."""

    user_row_id: uuid.UUID
    chat_row_id: uuid.UUID | None
    language: str | None
    """The language the user chose with /language; None: never chose one."""
    banned: bool


class Visits:
    """Records the user and chat of updates (see the module)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgresql = engine.dialect.name == "postgresql"
        self._autocommit = autocommit(engine)

    async def record(self, user: TelegramUser, chat: TelegramChat | None) -> Visit:
        """Upsert the user (and the chat, when there is one); what the rows say now."""
        visitor = Visitor(user, chat)
        if self._postgresql:
            async with self._autocommit.connect() as connection:
                statement = visit_statement(chat=chat is not None)
                row = (await connection.execute(statement, visit_parameters(visitor))).one()
                return visit_of_row(row, visitor)
        async with self._engine.begin() as connection:
            return await record_one_by_one(connection, visitor)


_USER_FIELDS = ("first_name", "username", "last_name", "language_code", "updated_at")
_CHAT_FIELDS = ("type", "title", "updated_at", "blocked_at")


def _upsert_user(insert: Any) -> Any:
    """The user's upsert (`insert`: the dialect's), returning what the visit reads."""
    table = User.__table__.c
    values = insert(User).values(
        {
            **{name: bindparam(f"user_{name}", type_=table[name].type) for name in _NEW_USER},
            **_scalar_defaults(User, _NEW_USER),
        }
    )
    return values.on_conflict_do_update(
        index_elements=[User.telegram_id],
        set_={name: values.excluded[name] for name in _USER_FIELDS},
    ).returning(User.id, User.language, User.banned_at)


def _scalar_defaults(model: Any, given: tuple[str, ...]) -> dict[str, Any]:
    """The constant defaults of the columns a statement built once leaves out (executed
    with parameters, it would send NULL for them)."""
    return {
        column.name: column.default.arg
        for column in model.__table__.c
        if column.name not in given and column.default is not None and column.default.is_scalar
    }


def _upsert_chat(insert: Any, owner: Any) -> Any:
    """The chat's upsert (`insert`: the dialect's), its owner `owner` when it is new."""
    table = Chat.__table__.c
    columns = {
        name: owner if name == "user_id" else bindparam(f"chat_{name}", type_=table[name].type)
        for name in _NEW_CHAT
    }
    # WHERE true: SQLite reads an upsert after a SELECT only with a WHERE.
    columns.update(
        (name, literal(value, type_=table[name].type))
        for name, value in _scalar_defaults(Chat, _NEW_CHAT).items()
    )
    values = insert(Chat).from_select(list(columns), select(*columns.values()).where(true()))
    return values.on_conflict_do_update(
        index_elements=[Chat.telegram_id],
        set_={name: values.excluded[name] for name in _CHAT_FIELDS},
    ).returning(Chat.id)


_NEW_USER = ("id", "telegram_id", "created_at", *_USER_FIELDS)
_NEW_CHAT = ("id", "telegram_id", "user_id", "created_at", *_CHAT_FIELDS)
_VISITING_USER = _upsert_user(postgresql_insert).cte("visiting_user")
_PG_USER = select(_VISITING_USER.c.id, _VISITING_USER.c.language, _VISITING_USER.c.banned_at)
_VISITING_CHAT = _upsert_chat(postgresql_insert, _VISITING_USER.c.id).cte("visiting_chat")
_PG_USER_AND_CHAT = (
    select(*_PG_USER.selected_columns, _VISITING_CHAT.c.id.label("chat_id"))
    .select_from(_VISITING_USER)
    .join(_VISITING_CHAT, true())
)
"""One statement: both upserts (the chat's owner taken from the user's), their answer."""
_SQLITE_USER = _upsert_user(sqlite_insert)
_SQLITE_CHAT = _upsert_chat(sqlite_insert, bindparam("chat_user_id", type_=Uuid()))


def visit_statement(*, chat: bool, taking: Any = None) -> Select[Any]:
    """A visit as one PostgreSQL statement (`chat`: with a chat), to run with
    `visit_parameters`; build it once.

    `taking`: a data-modifying CTE (an INSERT ... RETURNING) that the same statement runs
    too; the number of rows it returned is read as the column `taken`."""
    plain = _PG_USER_AND_CHAT if chat else _PG_USER
    if taking is None:
        return plain
    taken = select(func.count()).select_from(taking).scalar_subquery().label("taken")
    return plain.add_columns(taken)


def visit_of_row(row: Row[Any], visitor: Visitor) -> Visit:
    """The visit that `visit_statement`'s row says."""
    chat_row_id = None if visitor.chat is None else row.chat_id
    return Visit(row.id, chat_row_id, row.language, row.banned_at is not None)


def visit_parameters(visitor: Visitor) -> dict[str, Any]:
    """The parameters of the visit's statements (its upserts' new rows)."""
    user, chat = visitor.user, visitor.chat
    now = utcnow()
    parameters = {
        "user_id": uuid.uuid4(),
        "user_telegram_id": user.telegram_id,
        "user_created_at": now,
        "user_first_name": user.first_name,
        "user_username": user.username,
        "user_last_name": user.last_name,
        "user_language_code": user.language_code,
        "user_updated_at": now,
    }
    if chat is not None:
        parameters.update(
            chat_id=uuid.uuid4(),
            chat_telegram_id=chat.telegram_id,
            chat_created_at=now,
            chat_type=chat.type,
            chat_title=chat.title,
            chat_updated_at=now,
            chat_blocked_at=None,
        )
    return parameters


async def record_one_by_one(connection: AsyncConnection, visitor: Visitor) -> Visit:
    """The visit as SQLite records it: one upsert after the other, in the transaction of
    `connection`."""
    parameters = visit_parameters(visitor)
    row = (await connection.execute(_SQLITE_USER, parameters)).one()
    chat_row_id = None
    if visitor.chat is not None:
        parameters["chat_user_id"] = row.id
        chat_row_id = (await connection.execute(_SQLITE_CHAT, parameters)).scalar_one()
    return Visit(row.id, chat_row_id, row.language, row.banned_at is not None)
