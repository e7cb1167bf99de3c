"""`mediabot migrate`: bring the database schema up to date."""

from __future__ import annotations

import logging

from sqlalchemy.engine import make_url

from mediabot.config import Settings
from mediabot.db.migrate import upgrade_url

logger = logging.getLogger(__name__)


async def migrate_command(settings: Settings) -> int:
    url = settings.effective_database_url
    await upgrade_url(url)
    logger.info("database schema is up to date (%s)", make_url(url).render_as_string())
    return 0
