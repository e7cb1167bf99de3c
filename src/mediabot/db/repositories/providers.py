"""The rows of the sites media comes from."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from mediabot.db.models import ProviderRow
from mediabot.db.repositories._common import Repository
from mediabot.domain.enums import Provider


class ProviderRepository(Repository):
    """The `providers` rows, one per member of `Provider`."""

    async def id_of(self, provider: Provider) -> uuid.UUID:
        """The row id of a provider; the initial migration creates one row per member."""
        statement = select(ProviderRow.id).where(ProviderRow.name == provider)
        provider_id: uuid.UUID = (await self._session.execute(statement)).scalar_one()
        return provider_id
