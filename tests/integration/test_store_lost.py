"""The store lost in the middle of a statement or a transaction: the caller gets SQLAlchemy's
``OperationalError`` (a 503 with ``Retry-After`` to an HTTP client), never another class that
would be a 500. The PostgreSQL outage test (``tests/e2e/test_outages.py``) caught two such 500s,
each a path that runs rarely there and surely here: the fact index's watch on rollbacks, and the
hot paths that run SQL on the driver's own cursor. On PostgreSQL the connection's backend is
really terminated; SQLite has no server to lose, so there the driver's errors are shown to come
out wrapped and a disconnect is stood in for by invalidating the connection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from commutepass.flow import repository as flow_repository
from commutepass.kit.context import App
from commutepass.store.fact_index import FactIndex
from commutepass.store.facts import FactReader, on_driver


class _Lost(Exception):
    """The error a disconnect raised (SQLite's stand-in)."""


def _terminate(app: App, conn: Connection) -> None:
    """End the connection's PostgreSQL backend from another connection, as a crash would."""
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with app.engine.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_a_connection_lost_mid_transaction_raises_the_stores_own_error(app: App) -> None:
    """The index watches every commit and rollback of the engine; a connection the store dropped
    in the middle of a transaction is left alone, so the caller sees the store's own error (a
    503 to a client), not SQLAlchemy's PendingRollbackError from reconnecting inside a rollback
    (a 500; the PostgreSQL outage test caught one). On PostgreSQL the backend is really
    terminated; SQLite has no server to lose, so its connection is invalidated as a disconnect
    would."""
    index = FactIndex(app.engine)
    postgres = app.engine.dialect.name == "postgresql"
    try:
        with pytest.raises(OperationalError if postgres else _Lost), app.transaction() as conn:
            conn.execute(  # a fact written: the index marks the connection
                text(
                    "INSERT INTO fact_changes (kind, row_id, recorded_at) VALUES ('test', NULL, '2021-11-20')"
                )
            )
            if postgres:
                _terminate(app, conn)
                conn.execute(text("SELECT 1"))  # the store is gone: OperationalError
            else:
                conn.invalidate()
                raise _Lost
        # the next statement runs on a fresh connection from the pool
        with app.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        index.close()


def test_a_driver_statement_on_a_lost_store_raises_the_stores_own_error(app: App) -> None:
    """The fact reader's statements and the flow counts of a group commit: with the backend gone
    each raises SQLAlchemy's OperationalError and leaves its connection invalidated (the next
    use takes a fresh one from the pool)."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose (the wrapping is shown below on both engines)")
    with app.engine.connect() as conn:
        _terminate(app, conn)
        with pytest.raises(OperationalError) as caught:
            FactReader(conn).person_id("nobody")
        assert caught.value.connection_invalidated and conn.invalidated
    swipe = {"site": "lost", "at": datetime(2021, 11, 20, 8, tzinfo=UTC), "decision": "enter"}
    with pytest.raises(OperationalError), app.transaction() as conn:
        _terminate(app, conn)
        flow_repository.count(conn, [(swipe, "lane-1")])
    with app.engine.connect() as conn:  # the pool hands out a working connection again
        assert conn.execute(text("SELECT count(*) FROM flow_minutes")).scalar_one() == 0


def test_a_driver_error_comes_out_as_sqlalchemys(app: App) -> None:
    """Any error of the driver's own cursor is SQLAlchemy's wrapper of it, with the driver's
    error kept, as from any statement run through SQLAlchemy."""
    with app.engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            on_driver(conn, "SELECT * FROM no_such_table", ())
        assert isinstance(caught.value.orig, conn.dialect.loaded_dbapi.Error)
        assert not caught.value.connection_invalidated
        assert "no_such_table" in str(caught.value)
