"""The database: models, repositories, the engine and the Alembic migrations."""
