"""Playlists: the offer of a playlist link, and its items as requests in order.

`playlists` keeps a playlist link's offer (its entries, capped at `PLAYLIST_MAX_ITEMS`),
the choice made for all of them and its one status message; `files.playlist_id` and
`files.playlist_position` make each item a request of its own, worked on in turn.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = (
    "offered",
    "accepted",
    "queued",
    "downloading",
    "uploading",
    "delivered",
    "failed",
    "cancelled",
)


def upgrade() -> None:
    op.create_table(
        "playlists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                *_STATES,
                name="request_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "video",
                "audio",
                "photo",
                name="media_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("resolution", sa.Integer(), nullable=True),
        sa.Column("status_message_id", sa.BigInteger(), nullable=True),
        sa.Column("link_message_id", sa.BigInteger(), nullable=True),
        sa.Column("message_thread_id", sa.BigInteger(), nullable=True),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_playlists_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_playlists_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlists")),
    )
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playlists_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_playlists_requested_by_id"), ["requested_by_id"], unique=False
        )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("playlist_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("playlist_position", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_files_playlist_id_playlists"),
            "playlists",
            ["playlist_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_files_playlist_position", ["playlist_id", "playlist_position"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_playlist_position")
        batch_op.drop_constraint(batch_op.f("fk_files_playlist_id_playlists"), type_="foreignkey")
        batch_op.drop_column("playlist_position")
        batch_op.drop_column("playlist_id")
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playlists_requested_by_id"))
        batch_op.drop_index(batch_op.f("ix_playlists_chat_id"))
    op.drop_table("playlists")
