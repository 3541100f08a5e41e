"""The applications' SQL: applications, their history and their documents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from commutepass.domain.workflows import AppState
from commutepass.store.tables import application_events, applications
from commutepass.store.tables import documents as documents_table


def application(conn: Connection, application_id: int) -> Any:
    return conn.execute(select(applications).where(applications.c.id == application_id)).first()


def open_application_of(conn: Connection, person_id: int, open_states: Iterable[str]) -> int | None:
    """The id of the person's application still open, if any."""
    row = conn.execute(
        select(applications.c.id).where(
            applications.c.person_id == person_id, applications.c.status.in_(list(open_states))
        )
    ).first()
    return None if row is None else int(row.id)


def add_application(conn: Connection, **values: Any) -> int:
    return int(conn.execute(applications.insert().values(**values).returning(applications.c.id)).scalar_one())


def set_application(conn: Connection, application_id: int, from_status: str | None, **values: Any) -> None:
    """Change an application (only while it is still in ``from_status``, when given)."""
    where = [applications.c.id == application_id]
    if from_status is not None:
        where.append(applications.c.status == from_status)
    conn.execute(update(applications).where(*where).values(**values))


def add_event(
    conn: Connection, application_id: int, old: str | None, new: str, reason: str, actor_id: int, at: datetime
) -> None:
    conn.execute(
        application_events.insert().values(
            application_id=application_id,
            from_status=old,
            to_status=new,
            reason=reason,
            actor_id=actor_id,
            at=at,
        )
    )


def events_of(conn: Connection, application_id: int) -> Sequence[Any]:
    return conn.execute(
        select(application_events)
        .where(application_events.c.application_id == application_id)
        .order_by(application_events.c.id)
    ).all()


def documents_of(conn: Connection, application_id: int) -> Sequence[Any]:
    return conn.execute(
        select(documents_table)
        .where(documents_table.c.application_id == application_id)
        .order_by(documents_table.c.id)
    ).all()


def applications_of(conn: Connection, person_ids: Iterable[int], submitted_by: int) -> Sequence[Any]:
    """Applications for these people or registered by this user, newest first."""
    return conn.execute(
        select(applications)
        .where(applications.c.person_id.in_(list(person_ids)) | (applications.c.submitted_by == submitted_by))
        .order_by(applications.c.id.desc())
    ).all()


def waiting(conn: Connection) -> Sequence[Any]:
    """Applications waiting for a decision, longest-waiting first."""
    return conn.execute(
        select(applications)
        .where(applications.c.status == AppState.SUBMITTED.value)
        .order_by(applications.c.waiting_since)
    ).all()


def document(conn: Connection, application_id: int, sha256: str) -> Any:
    return conn.execute(
        select(documents_table).where(
            documents_table.c.application_id == application_id, documents_table.c.sha256 == sha256
        )
    ).first()


def add_document(conn: Connection, **values: Any) -> None:
    conn.execute(documents_table.insert().values(**values))
