"""The rows of the sites media comes from."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from mediabot.db.models import ProviderRow
from mediabot.db.repositories._common import Repository
from mediabot.db.upserts import dialect_insert
from mediabot.domain.enums import Provider


class ProviderRepository(Repository):
    """The `providers` rows, one per site, each created the first time it is needed."""

    async def id_of(self, provider: Provider) -> uuid.UUID:
        """The row id of a provider, its row created on first use (whoever inserts first)."""
        statement = select(ProviderRow.id).where(ProviderRow.name == provider)
        provider_id = (await self._session.execute(statement)).scalar_one_or_none()
        if provider_id is not None:
            return provider_id
        await self._session.execute(
            dialect_insert(self._session, ProviderRow)
            .values(id=uuid.uuid4(), name=str(provider), display_name=provider.display_name)
            .on_conflict_do_nothing(index_elements=[ProviderRow.name])
        )
        created: uuid.UUID = (await self._session.execute(statement)).scalar_one()
        return created
