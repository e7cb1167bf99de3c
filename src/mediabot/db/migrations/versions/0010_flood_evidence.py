"""A bot-wide flood hold lasts only while enough chats are still held.

Each chat's row keeps the latest end of the waits Telegram told it (`flood_until`), so that
`telegram_budget_hold` holds every chat only until fewer than the spread's number of recent
flooded chats are still held, never for one chat's long wait. It now returns the seconds
every chat is held back for (0: only the chat); processes of the previous release read
that as a truth value and run on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = "telegram_budget_hold(bigint, float8, float8, float8, integer, float8)"

# Locks the bot's row first, as `telegram_budget_take` does, so holds and takes queue in one
# order; the clock is read once the lock is held. A chat's earlier waits count towards its
# `flood_until` only while its last 429 is within the window, as they do in `MemoryBudget`.
_HOLD = """
CREATE FUNCTION telegram_budget_hold(
    p_chat bigint, p_seconds float8, p_chat_tolerance float8, p_global_tolerance float8,
    p_spread_chats integer, p_spread_window float8
) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    v_now float8;
    v_until float8;
BEGIN
    PERFORM 1 FROM telegram_budget WHERE chat_id = 0 FOR UPDATE;
    v_now := extract(epoch FROM clock_timestamp());
    IF p_chat IS NULL THEN
        v_until := v_now + p_seconds;
    ELSE
        INSERT INTO telegram_budget (chat_id, tat, flood_at, flood_until)
            VALUES (p_chat, v_now + p_seconds + p_chat_tolerance, v_now, v_now + p_seconds)
            ON CONFLICT (chat_id) DO UPDATE SET
                tat = greatest(telegram_budget.tat, excluded.tat),
                flood_until = CASE
                    WHEN telegram_budget.flood_at >= v_now - p_spread_window
                    THEN greatest(telegram_budget.flood_until, excluded.flood_until)
                    ELSE excluded.flood_until
                END,
                flood_at = excluded.flood_at;
        -- the spread's number-th latest end among the recent flooded chats still held
        SELECT flood_until INTO v_until FROM telegram_budget
            WHERE chat_id <> 0 AND flood_at >= v_now - p_spread_window AND flood_until > v_now
            ORDER BY flood_until DESC OFFSET p_spread_chats - 1 LIMIT 1;
        IF v_until IS NULL THEN
            RETURN 0;
        END IF;
    END IF;
    INSERT INTO telegram_budget (chat_id, tat) VALUES (0, v_until + p_global_tolerance)
        ON CONFLICT (chat_id) DO UPDATE SET tat = greatest(telegram_budget.tat, excluded.tat);
    RETURN v_until - v_now;
END
$$
"""

_HOLD_0007 = """
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
"""Revision 0007's function, put back by the downgrade."""


def upgrade() -> None:
    with op.batch_alter_table("telegram_budget", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flood_until", sa.Float(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # The return type changes (boolean to float8): replacing needs a drop.
        op.execute(f"DROP FUNCTION {_SIGNATURE}")
        op.execute(_HOLD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {_SIGNATURE}")
        op.execute(_HOLD_0007)
    with op.batch_alter_table("telegram_budget", schema=None) as batch_op:
        batch_op.drop_column("flood_until")
