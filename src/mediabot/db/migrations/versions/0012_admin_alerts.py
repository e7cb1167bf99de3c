"""Admin warnings: the time each kind was last sent, so the fleet sends one per hour per kind.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_alerts",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_admin_alerts")),
    )


def downgrade() -> None:
    op.drop_table("admin_alerts")
