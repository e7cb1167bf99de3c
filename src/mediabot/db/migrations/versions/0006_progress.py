"""A running request's progress, for /queue: the download's percentage and the parts in all.

Written by the worker with each lease renewal (no extra statement), read by /queue.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_percent", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("parts_total", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("parts_total")
        batch_op.drop_column("progress_percent")
