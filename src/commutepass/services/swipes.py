"""Group commit for swipes: concurrent checks share one write transaction.

A check's answer is sent only after its swipe is committed, so nothing is lost and the
person's next check sees it; but fifty concurrent checks cost one commit, not fifty, and two
server processes do not queue behind each other's write lock once per request.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from commutepass.services import audit
from commutepass.services.context import App
from commutepass.store import repositories as repo


@dataclass
class PendingSwipe:
    row: dict[str, Any]
    """The checks row; ``person_id`` may be None for a person never seen before."""
    person: tuple[str, date, str, str]
    """(key, birth date, masked id, cipher), used when the person must be created."""
    done: Future[None]
    actor: audit.Actor | None = None
    """Who checked: the check is appended to the audit log in the same transaction."""


class SwipeWriter:
    def __init__(self, app: App, *, max_batch: int = 512) -> None:
        self.app = app
        self.max_batch = max_batch
        self._queue: queue.Queue[PendingSwipe | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="swipe-writer", daemon=True)
        self._thread.start()

    def submit(
        self, row: dict[str, Any], person: tuple[str, date, str, str], actor: audit.Actor | None = None
    ) -> Future[None]:
        pending = PendingSwipe(row, person, Future(), actor)
        self._queue.put(pending)
        return pending.done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            # no waiting: the batch is whatever queued up while the last one was being written
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[PendingSwipe]) -> None:
        try:
            with self.app.transaction() as conn:
                unknown = [p.person for p in batch if p.row["person_id"] is None]
                ids = repo.ensure_people(conn, unknown) if unknown else {}
                rows = [{**p.row, "person_id": p.row["person_id"] or ids[p.person[0]]} for p in batch]
                repo.record_checks(conn, rows)
                self._audit(conn, batch, rows)
        except Exception as exc:  # every waiting check learns that its swipe was not stored
            for pending in batch:
                pending.done.set_exception(exc)
            return
        for pending in batch:
            pending.done.set_result(None)

    def _audit(self, conn: Connection, batch: list[PendingSwipe], rows: list[dict[str, Any]]) -> None:
        by_actor: dict[audit.Actor, list[audit.Event]] = defaultdict(list)
        for pending, row in zip(batch, rows, strict=True):
            if pending.actor is not None:
                by_actor[pending.actor].append(
                    audit.Event(
                        "check", row["person_id"], f"check at {row['site']}", {"decision": row["decision"]}
                    )
                )
        for actor, events in by_actor.items():
            audit.record_many(conn, self.app, actor, events)
