"""Bans, the press time, the link a group file replies to, and the indexes of /stats.

`users.banned_at` (an admin's /ban); `files.chosen_at` (the button press: the hourly limit
and press-to-file time; existing rows take their `queued_at`); `files.link_message_id` and
`files.message_thread_id` (in a group the file replies to the link, in its forum topic);
indexes for a user's presses and links since a time, and for Telegram file ids sent before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("banned_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("link_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("message_thread_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_files_requester_chosen", ["requested_by_id", "chosen_at"], unique=False
        )
        batch_op.create_index(
            "ix_files_requester_created", ["requested_by_id", "created_at"], unique=False
        )
    op.execute("UPDATE files SET chosen_at = queued_at WHERE chosen_at IS NULL")
    with op.batch_alter_table("file_parts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_file_parts_unique_created",
            ["telegram_file_unique_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("file_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_file_parts_unique_created")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_requester_created")
        batch_op.drop_index("ix_files_requester_chosen")
        batch_op.drop_column("message_thread_id")
        batch_op.drop_column("link_message_id")
        batch_op.drop_column("chosen_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("banned_at")
