"""The schema: App.open migrates to Alembic's head, idempotently, to exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from commutepass.kit.context import App
from commutepass.store import repositories as repo
from commutepass.store.db import alembic_config, migrate
from commutepass.store.tables import loads, metadata
from tests.helpers import open_app


def _current_revision(app: App) -> str | None:
    with app.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_open_migrates_to_head(app: App) -> None:
    head = ScriptDirectory.from_config(alembic_config(app.engine)).get_current_head()
    assert head is not None
    assert _current_revision(app) == head
    tables = set(inspect(app.engine).get_table_names())
    assert tables == {*metadata.tables, "alembic_version"}


def test_migrating_again_keeps_revision_and_data(app: App, tmp_path: Path, store_url: str) -> None:
    with app.transaction() as conn:
        repo.record_load(
            conn,
            kind="travel",
            file_name="kept.csv",
            sha256="0" * 64,
            rows_total=0,
            rows_added=0,
            rows_duplicate=0,
            rows_rejected=0,
        )
    before = _current_revision(app)
    migrate(app.engine)
    reopened = open_app(tmp_path, store_url)
    try:
        assert _current_revision(reopened) == before
        with reopened.engine.connect() as conn:
            assert conn.execute(select(loads.c.file_name)).scalars().all() == ["kept.csv"]
    finally:
        reopened.close()


def test_migrated_schema_matches_the_table_definitions(app: App) -> None:
    with app.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []
