"""Users keep the Telegram update that last set each of their settings, so that presses
handled side by side leave the value of the last one pressed, not of the last one stored.

The columns are nullable: a setting never changed, or changed by the previous release,
has none.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS = ("default_choice", "delivery_form")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for setting in _SETTINGS:
            set_at = sa.DateTime(timezone=True)
            batch_op.add_column(sa.Column(f"{setting}_update_id", sa.BigInteger(), nullable=True))
            batch_op.add_column(sa.Column(f"{setting}_set_at", set_at, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for setting in reversed(_SETTINGS):
            batch_op.drop_column(f"{setting}_set_at")
            batch_op.drop_column(f"{setting}_update_id")
