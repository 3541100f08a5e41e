"""The store: SQLAlchemy tables, Alembic migrations, repositories and the fact reader."""
