"""Group commit for swipes: concurrent checks share one write transaction.

A check's answer is sent only after its swipe is committed, so nothing is lost and the
person's next check sees it; but fifty concurrent checks cost one commit, not fifty, and two
server processes do not queue behind each other's write lock once per request.

Each check is also an access to a person's data, so it goes into the audit log. Appending to
the chain inside the swipe's transaction lengthened the write lock enough that the two server
processes collided on it far more often (HTTP checks/s fell by a third on the benchmark), so the
entries are appended in their own transaction, at most ``AUDIT_FLUSH_SECONDS`` after the swipe
(or every ``AUDIT_FLUSH_ENTRIES``), and when the writer closes. A process killed in between
loses those entries but not the swipes: the ``checks`` rows stay the record of those checks.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import Any

from commutepass.services import audit
from commutepass.services.context import App
from commutepass.store import repositories as repo

logger = logging.getLogger(__name__)


@dataclass
class PendingSwipe:
    row: dict[str, Any]
    """The checks row; ``person_id`` may be None for a person never seen before."""
    person: tuple[str, date, str, str]
    """(key, birth date, masked id, cipher), used when the person must be created."""
    done: Future[None]
    actor: audit.Actor | None = None
    """Who checked: the check is appended to the audit log shortly after the swipe."""


AUDIT_FLUSH_SECONDS = 0.5
AUDIT_FLUSH_ENTRIES = 1000


class SwipeWriter:
    def __init__(self, app: App, *, max_batch: int = 512) -> None:
        self.app = app
        self.max_batch = max_batch
        self._queue: queue.Queue[PendingSwipe | None] = queue.Queue()
        self._backlog: list[audit.Prepared] = []
        self._flushed = time.monotonic()
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
            try:
                first = self._queue.get(timeout=AUDIT_FLUSH_SECONDS if self._backlog else None)
            except queue.Empty:
                self._flush_audit()
                continue
            if first is None:
                self._flush_audit()
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
            due = time.monotonic() - self._flushed >= AUDIT_FLUSH_SECONDS
            if stop or due or len(self._backlog) >= AUDIT_FLUSH_ENTRIES:
                self._flush_audit()
            if stop:
                return

    def _write(self, batch: list[PendingSwipe]) -> None:
        try:
            with self.app.transaction() as conn:
                unknown = [p.person for p in batch if p.row["person_id"] is None]
                ids = repo.ensure_people(conn, unknown) if unknown else {}
                rows = [{**p.row, "person_id": p.row["person_id"] or ids[p.person[0]]} for p in batch]
                repo.record_checks(conn, rows)
        except Exception as exc:  # every waiting check learns that its swipe was not stored
            for pending in batch:
                pending.done.set_exception(exc)
            return
        for pending, row in zip(batch, rows, strict=True):
            if pending.actor is not None:
                self._backlog.extend(audit.prepare(pending.actor, [_check_event(row)]))
        for pending in batch:
            pending.done.set_result(None)

    def _flush_audit(self) -> None:
        self._flushed = time.monotonic()
        if not self._backlog:
            return
        try:
            with self.app.transaction() as conn:
                audit.append(conn, self.app, self._backlog)
        except Exception:  # the store is unavailable: keep the entries and try again next time
            logger.exception("audit entries of %d checks not yet appended", len(self._backlog))
            return
        self._backlog = []


def _check_event(row: dict[str, Any]) -> audit.Event:
    return audit.Event("check", row["person_id"], f"check at {row['site']}", {"decision": row["decision"]})
