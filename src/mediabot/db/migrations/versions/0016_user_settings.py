"""User settings (/settings) and the form each request is delivered in.

`users.default_choice` is what a link alone brings (`ask`, a height such as `720`, or
`audio`); `users.delivery_form` and `files.form` say whether files come as media that plays
in the chat (`media`) or as documents with the original streams (`document`). Existing
users keep today's behaviour: ask, as media; existing requests were all sent as media.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULTS = ("ask", "360", "480", "720", "1080", "audio")
_FORMS = ("media", "document")


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "default_choice",
                _enum(_DEFAULTS, "default_choice"),
                nullable=False,
                server_default="ask",
            )
        )
        batch_op.add_column(
            sa.Column(
                "delivery_form",
                _enum(_FORMS, "delivery_form"),
                nullable=False,
                server_default="media",
            )
        )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "form", _enum(_FORMS, "delivery_form"), nullable=False, server_default="media"
            )
        )


def downgrade() -> None:
    # SQLite rebuilds the table with its CHECK constraints: theirs go before their columns.
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_files_delivery_form"), type_="check")
        batch_op.drop_column("form")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_delivery_form"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_default_choice"), type_="check")
        batch_op.drop_column("delivery_form")
        batch_op.drop_column("default_choice")
