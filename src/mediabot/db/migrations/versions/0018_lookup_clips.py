"""Lookup requests carry the clip asked of each link, and are found by their message.

`clips` is nullable (a request of the previous release asks for no clip); the index serves
the bot's look for what an edited message was last answered for.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("lookup_requests", sa.Column("clips", sa.JSON(), nullable=True))
    op.create_index(
        "ix_lookup_requests_message", "lookup_requests", ["telegram_chat_id", "message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_lookup_requests_message", table_name="lookup_requests")
    op.drop_column("lookup_requests", "clips")
