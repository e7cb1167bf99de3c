"""Lookup requests keep the Telegram update that asked for them, to tell a message's edits
apart in the order they were made.

`update_id` is nullable: a request of the previous release, and one asked for by a press
(subtitles), have none.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("lookup_requests", sa.Column("update_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("lookup_requests", "update_id")
