"""Telegram's limits as one budget for every process: a bucket per chat and one for the bot.

On PostgreSQL, two functions take a slot and record a 429 in one statement each; the
embedded mode (SQLite, one process) keeps its buckets in memory and only gets the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every caller locks the bot's row (chat 0) first, then the chat's, so callers queue in one
# order and never deadlock; the clock is read once the lock is held, so the reservations
# of all processes follow one another on one clock.
_TAKE = """
CREATE FUNCTION telegram_budget_take(
    p_chat bigint, p_weight integer,
    p_global_interval float8, p_global_tolerance float8,
    p_chat_interval float8, p_chat_tolerance float8, p_hold float8
) RETURNS TABLE (wait_s float8, reserved boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_now float8;
    v_global float8;
    v_chat float8;
    v_at float8;
BEGIN
    SELECT tat INTO v_global FROM telegram_budget WHERE chat_id = 0 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO telegram_budget (chat_id, tat) VALUES (0, 0) ON CONFLICT DO NOTHING;
        SELECT tat INTO v_global FROM telegram_budget WHERE chat_id = 0 FOR UPDATE;
    END IF;
    v_now := extract(epoch FROM clock_timestamp());
    SELECT tat INTO v_chat FROM telegram_budget WHERE chat_id = p_chat FOR UPDATE;
    v_chat := coalesce(v_chat, v_now);
    IF v_chat - p_chat_tolerance > v_now + p_hold THEN
        -- held (a flood wait, a long backlog): nothing reserved, the sender asks again then
        RETURN QUERY SELECT v_chat - p_chat_tolerance - v_now, false;
        RETURN;
    END IF;
    v_at := greatest(v_now, v_global - p_global_tolerance, v_chat - p_chat_tolerance);
    UPDATE telegram_budget SET tat = greatest(tat, v_at) + p_global_interval * p_weight
        WHERE chat_id = 0;
    INSERT INTO telegram_budget (chat_id, tat)
        VALUES (p_chat, greatest(v_chat, v_at) + p_chat_interval * p_weight)
        ON CONFLICT (chat_id) DO UPDATE SET tat = excluded.tat;
    IF random() < 0.001 THEN
        -- Chats whose bucket is full again and with no recent 429 behave like new chats.
        DELETE FROM telegram_budget
            WHERE chat_id <> 0 AND tat < v_now AND coalesce(flood_at, 0) < v_now - 3600;
    END IF;
    RETURN QUERY SELECT v_at - v_now, true;
END
$$
"""

_HOLD = """
CREATE FUNCTION telegram_budget_hold(
    p_chat bigint, p_seconds float8, p_chat_tolerance float8, p_global_tolerance float8,
    p_spread_chats integer, p_spread_window float8
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_now float8;
    v_chats integer;
BEGIN
    PERFORM 1 FROM telegram_budget WHERE chat_id = 0 FOR UPDATE;
    v_now := extract(epoch FROM clock_timestamp());
    IF p_chat IS NOT NULL THEN
        INSERT INTO telegram_budget (chat_id, tat, flood_at)
            VALUES (p_chat, v_now + p_seconds + p_chat_tolerance, v_now)
            ON CONFLICT (chat_id) DO UPDATE
            SET tat = greatest(telegram_budget.tat, excluded.tat), flood_at = excluded.flood_at;
        SELECT count(*) INTO v_chats FROM telegram_budget
            WHERE chat_id <> 0 AND flood_at >= v_now - p_spread_window;
        IF v_chats < p_spread_chats THEN
            RETURN false;
        END IF;
    END IF;
    INSERT INTO telegram_budget (chat_id, tat) VALUES (0, v_now + p_seconds + p_global_tolerance)
        ON CONFLICT (chat_id) DO UPDATE SET tat = greatest(telegram_budget.tat, excluded.tat);
    RETURN true;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "telegram_budget",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.Column("flood_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_telegram_budget")),
    )
    op.execute("INSERT INTO telegram_budget (chat_id, tat) VALUES (0, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_TAKE)
        op.execute(_HOLD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION telegram_budget_hold(bigint, float8, float8, float8, integer, float8)"
        )
        op.execute(
            "DROP FUNCTION telegram_budget_take"
            "(bigint, integer, float8, float8, float8, float8, float8)"
        )
    op.drop_table("telegram_budget")
