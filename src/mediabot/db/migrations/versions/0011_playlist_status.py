"""Playlists: the entries their listing left out, and the edits of their status on the way.

`skipped_count` keeps what the offer says was left out (repeats, nested playlists, entries
without a link), so an offer shown again says it too and does not take them for items the
limit cut. `status_edits_until` is when the last edit of the status message allowed so far
must have landed or been dropped: the playlist's last word waits for it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("skipped_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("status_edits_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.drop_column("status_edits_until")
        batch_op.drop_column("skipped_count")
