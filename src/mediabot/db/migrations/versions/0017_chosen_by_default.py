"""Requests chosen by their owner's default (/settings) rather than by a press.

`files.chosen_by_default` marks them: once delivered, their status message stays as a
short line with "⚙ Other choices" instead of being deleted. Existing requests were all
chosen by a press.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chosen_by_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("chosen_by_default")
