"""Inline mode: the inline message a request chosen through `@bot <link>` is delivered into.

Such a request's chat is the storage chat (`STORAGE_CHAT_ID`), where the file is uploaded;
the inline message is then edited into it by its Telegram file id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inline_message_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("inline_message_id")
