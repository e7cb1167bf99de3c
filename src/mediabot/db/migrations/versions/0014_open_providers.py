"""Open providers: a site's row is created when it is first used, not only by a migration.

The CHECK constraint on `providers.name` listed the sites of 0001; a site added later brings
its own name (its downloader class declares it) and gets its row on demand
(`ProviderRepository.id_of`). Downgrading puts the constraint back, so it fails while rows of
other sites exist.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRST_SITES = ("youtube", "instagram", "generic")


def upgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_providers_provider"), type_="check")
        batch_op.alter_column("name", existing_type=sa.String(length=16), nullable=False)


def downgrade() -> None:
    names = ", ".join(f"'{name}'" for name in _FIRST_SITES)
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_providers_provider"), f"name IN ({names})")
