"""Lookups as jobs: the requests waiting for a lookup, and each link's shared lookup.

Only adds tables: processes of the previous release run on beside them (they look links up
themselves).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lookup_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("chat_id", sa.Uuid(), nullable=True),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("message_thread_id", sa.BigInteger(), nullable=True),
        sa.Column("in_group", sa.Boolean(), nullable=False),
        sa.Column("inline_query_id", sa.String(length=64), nullable=True),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=160), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("placeholders", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_lookup_requests_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lookup_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_requests")),
    )
    op.create_index("ix_lookup_requests_state_created", "lookup_requests", ["state", "created_at"])
    op.create_table(
        "lookups",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=160), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_lookups")),
    )
    op.create_index(op.f("ix_lookups_finished_at"), "lookups", ["finished_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lookups_finished_at"), table_name="lookups")
    op.drop_table("lookups")
    op.drop_index("ix_lookup_requests_state_created", table_name="lookup_requests")
    op.drop_table("lookup_requests")
