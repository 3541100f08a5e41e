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

import asyncio
import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection

from commutepass.checks.service import CheckRequest, HeldReads, Swipe, check_event, store
from commutepass.kit import audit, observe
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.store.fact_index import NOTED

logger = logging.getLogger(__name__)


@dataclass
class PendingSwipe:
    swipe: Swipe
    actor: audit.Actor
    """Who checked: the check is appended to the audit log shortly after the swipe."""
    done: Future[bool]
    """True once stored; False if its swipe id had been recorded before."""


AUDIT_FLUSH_SECONDS = 0.5
AUDIT_FLUSH_ENTRIES = 1000
AUDIT_FAILING_LOG_SECONDS = 30.0
"""While appending audit entries keeps failing (the store is away), a log line this often, not
twice a second."""
HELD_IDLE_SECONDS = 5.0
"""The writer's connection is held between group commits unless it was idle this long."""


class SwipeWriter:
    def __init__(self, app: App, *, max_batch: int = 512) -> None:
        self.app = app
        self.max_batch = max_batch
        self._queue: queue.Queue[PendingSwipe | None] = queue.Queue()
        self._backlog: list[audit.Prepared] = []
        self._flushed = time.monotonic()
        self._audit_failing: float | None = None
        """Since when appending audit entries has failed (None: it has not)."""
        self._audit_logged = 0.0
        self._conn: Connection | None = None
        """The writer thread's own connection (``_transaction``)."""
        self._used = 0.0
        self.reads = HeldReads(app)
        """Where the server's checks are decided (a held connection per thread; see ``HeldReads``)."""
        observe.SWIPE_QUEUE.set_function(self._queue.qsize)
        self._thread = threading.Thread(target=self._run, name="swipe-writer", daemon=True)
        self._thread.start()

    def submit(self, swipe: Swipe, actor: audit.Actor) -> Future[bool]:
        """Queue a decided check (``checks.service``); the future resolves once it is stored."""
        pending = PendingSwipe(swipe, actor, Future())
        self._queue.put(pending)
        return pending.done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        if self._conn is not None and not self._thread.is_alive():
            with contextlib.suppress(Exception):  # the store is gone: the pool goes with the app
                self._conn.close()
        self.reads.close()

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

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the writer's own connection, held between batches (no pool checkout,
        and on PostgreSQL no liveness ping, per group commit); a failing connection is dropped and
        the next batch opens a new one (whose failure, while the store is down, is the usual)."""
        if self._conn is not None and time.monotonic() - self._used > HELD_IDLE_SECONDS:
            # idle a while (the store may have restarted): back to the pool, whose checkout
            # tests it; under load the held connection is used again at once
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = self.app.engine.connect()
        try:
            transaction = self._conn.begin()
            yield self._conn
            transaction.commit()
            self._used = time.monotonic()
        except Exception:  # the error as it happened (not a rollback's on a broken connection)
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):  # already broken: nothing to give back
                conn.invalidate()
                conn.close()
            raise

    def _write(self, batch: list[PendingSwipe]) -> None:
        try:
            with observe.SWIPE_COMMIT.time(), self._transaction() as conn:
                conn.info[NOTED] = True  # noted in the index below, not read back from the store
                stored = store(conn, [p.swipe for p in batch])
        except Exception as exc:  # every waiting check learns that its swipe was not stored
            for pending in batch:
                pending.done.set_exception(exc)
            return
        if self.reads.index is not None:  # committed: this process's next checks see them at once
            self.reads.index.note_checks(stored)
        for pending, row in zip(batch, stored, strict=True):
            if row is not None:
                self._backlog.extend(audit.prepare(pending.actor, [check_event(row, pending.swipe.detail)]))
        for pending, row in zip(batch, stored, strict=True):
            pending.done.set_result(row is not None)

    def _flush_audit(self) -> None:
        self._flushed = time.monotonic()
        if not self._backlog:
            return
        try:
            with self._transaction() as conn:
                audit.append(conn, self.app, self._backlog)
        except Exception as exc:  # the store is unavailable: keep the entries and try again next time
            now = time.monotonic()
            if self._audit_failing is None:  # the first failure with its traceback, then one line
                logger.exception("audit entries of %d checks not yet appended", len(self._backlog))
                self._audit_failing = self._audit_logged = now
            elif now - self._audit_logged >= AUDIT_FAILING_LOG_SECONDS:  # a line now and then
                logger.error(
                    "audit entries of %d checks still not appended after %.0f s: %s",
                    len(self._backlog),
                    now - self._audit_failing,
                    type(exc).__name__,
                )
                self._audit_logged = now
            return
        if self._audit_failing is not None:
            logger.warning(
                "audit entries of %d checks appended after %.0f s of failures",
                len(self._backlog),
                time.monotonic() - self._audit_failing,
            )
            self._audit_failing = None
        self._backlog = []


async def get_writer(request: Request) -> SwipeWriter:
    writer: SwipeWriter = request.app.state.swipes
    return writer


WriterDep = Annotated[SwipeWriter, Depends(get_writer)]
"""The server's swipe writer, for the routes that record checks."""


async def submit(writer: SwipeWriter, swipe: Swipe | None, user: User) -> None:
    """Hand a decided check to the writer and wait until it is stored (the answer goes out only
    then); meanwhile the worker decides other checks, whose swipes share the commit."""
    if swipe is not None:
        await asyncio.wrap_future(writer.submit(swipe, user.actor))


async def check_online(app: App, writer: SwipeWriter, user: User, request: CheckRequest) -> dict[str, Any]:
    """A check at the server (``POST /v1/checks`` and the web console): decided, recorded and
    audited through the writer, answered as the caller's role may see it."""
    view, _new = await check_online_once(app, writer, user, request, None)
    return view


def idempotent_swipe_id(user: User, key: str) -> str:
    """The swipe id an ``Idempotency-Key`` stands for: one per user and key (36 characters, the
    width of a checkpoint's swipe id), claimed in the same transaction as the check row."""
    return "k" + hashlib.sha256(f"{user.id}\0{key}".encode()).hexdigest()[:35]


async def check_online_once(
    app: App, writer: SwipeWriter, user: User, request: CheckRequest, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """``check_online``, with the client's ``Idempotency-Key``: a retry of the same key is
    decided and answered again but recorded and audited once. Whether this call recorded it."""
    # a check is one indexed statement and a pure decision: on SQLite (CPU, no waiting) it runs
    # on the event loop, where threads would only contend for the GIL; on PostgreSQL the
    # statement waits on the network, so a few threads wait for it instead of the event loop.
    # Worker processes give the parallelism (serve --workers N)
    reads = writer.reads
    if reads.executor is None:
        decided = reads.decide(request)
    else:  # a networked store: wait for the read off the event loop (see ``HeldReads``)
        decided = await asyncio.get_running_loop().run_in_executor(reads.executor, reads.decide, request)
    swipe = decided.swipe()
    if idempotency_key is not None:
        checkpoint = f"api:{user.username}"[:64]
        swipe = replace(
            swipe, swipe_id=idempotent_swipe_id(user, idempotency_key), detail={"checkpoint": checkpoint}
        )
    new = await asyncio.wrap_future(writer.submit(swipe, user.actor))
    return decided.view(user.role), new
