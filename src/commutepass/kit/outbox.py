"""A small, reusable outbox: messages are written in the same transaction as what caused them,
and a sender delivers them later to a channel (here an HTTP webhook), with retries.

Delivery guarantees:

- **none lost**: a message is in the ``outbox`` table once the transaction that made it commits;
  it stays due until a receiver answers 2xx, however often the sender stops or the receiver fails
  (retries back off exponentially, ``RetryPolicy``).
- **none sent twice across restarts**: the sender claims a message with a lease before sending and
  marks it sent right after the 2xx, so a sender stopped and started again (or a second sender)
  never repeats a message already marked. The one window no sender can close alone is a crash
  between the receiver's 2xx and the mark: every message carries a stable id (``message_id``,
  sent as the ``Idempotency-Key`` and ``X-Commutepass-Message-Id`` headers) so the receiver (an
  SMS gateway) drops such a repeat.

Any area may put messages on a channel (``enqueue``) and run a sender for it; nothing here knows
what the messages mean.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from commutepass.store.tables import outbox

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_delay_seconds: float = 5.0
    max_delay_seconds: float = 3600.0
    lease_seconds: float = 60.0
    """How long a claimed message is held by one sender before another may take it over."""

    def delay(self, attempts: int) -> timedelta:
        seconds = min(self.first_delay_seconds * (2 ** max(attempts - 1, 0)), self.max_delay_seconds)
        return timedelta(seconds=seconds)


def _utc(value: datetime | None) -> datetime:
    return (value or datetime.now(UTC)).astimezone(UTC)


def enqueue(
    conn: Connection, channel: str, message_id: str, payload: Mapping[str, Any], now: datetime
) -> bool:
    """Put a message on ``channel`` in the caller's transaction; False if that id is there already."""
    exists = conn.execute(
        select(outbox.c.id).where(outbox.c.channel == channel, outbox.c.message_id == message_id)
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(outbox).values(
            channel=channel,
            message_id=message_id,
            payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )
    return True


def pending(conn: Connection, channel: str) -> int:
    """Messages on ``channel`` not yet delivered."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.channel == channel, outbox.c.sent_at.is_(None))
        ).scalar_one()
    )


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class WebhookSender:
    """Delivers the due messages of one channel by HTTP POST (JSON body) to ``url``."""

    def __init__(
        self,
        engine: Engine,
        channel: str,
        url: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.url = url
        self.retry = retry or RetryPolicy()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout)
        self.last_error: str | None = None
        """Why the last message sent was not accepted (None when it was)."""

    def _claim(self, now: datetime) -> tuple[int, str, str] | None:
        """Take the oldest due message under a lease (one UPDATE that only one sender wins)."""
        due = and_(
            outbox.c.channel == self.channel,
            outbox.c.sent_at.is_(None),
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        with self.engine.begin() as conn:
            row = conn.execute(
                select(outbox.c.id, outbox.c.message_id, outbox.c.payload)
                .where(due)
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            won = conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id, due)
                .values(lease_until=now + timedelta(seconds=self.retry.lease_seconds))
            ).rowcount
            return (int(row.id), str(row.message_id), str(row.payload)) if won else None

    def send_one(self) -> bool | None:
        """Send the oldest due message: True sent, False failed (retried later), None: none due."""
        now = _utc(self.clock())
        claimed = self._claim(now)
        if claimed is None:
            return None
        row_id, message_id, payload = claimed
        error: str | None = None
        try:
            answer = self.client.post(
                self.url,
                content=payload.encode("utf-8"),
                headers={
                    "content-type": "application/json; charset=utf-8",
                    "Idempotency-Key": message_id,
                    "X-Commutepass-Message-Id": message_id,
                },
            )
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}: {answer.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        self.last_error = error
        if error is not None:
            logger.warning("outbox %s: message %s not delivered: %s", self.channel, message_id, error)
        done = _utc(self.clock())
        with self.engine.begin() as conn:
            attempts = (
                int(conn.execute(select(outbox.c.attempts).where(outbox.c.id == row_id)).scalar_one()) + 1
            )
            if error is None:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(sent_at=done, lease_until=None, attempts=attempts, last_error=None)
                )
                return True
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(
                    attempts=attempts,
                    next_attempt_at=done + self.retry.delay(attempts),
                    lease_until=None,
                    last_error=error,
                )
            )
        return False

    def send_due(self, limit: int = 1000, stop: threading.Event | None = None) -> SendReport:
        """Send what is due now, at most ``limit`` messages; stops at the first failure streak
        of 3 (the receiver is likely down: the rest wait for their retry), or when ``stop`` is
        set (after the message in flight is marked)."""
        report = SendReport()
        streak = 0
        for _ in range(limit):
            if stop is not None and stop.is_set():
                break
            outcome = self.send_one()
            if outcome is None:
                break
            if outcome:
                report.sent += 1
                streak = 0
            else:
                report.failed += 1
                report.errors.append(self.last_error or "")
                streak += 1
                if streak >= 3:
                    break
        return report

    def run(
        self, stop: threading.Event, interval: float = 2.0, before: Callable[[], Any] | None = None
    ) -> None:
        """Send until ``stop`` is set: each round calls ``before`` (e.g. produce new messages),
        sends what is due, then waits ``interval`` seconds. A stop lets the message in flight
        finish and be marked first."""
        while not stop.is_set():
            if before is not None:
                before()
            self.send_due(stop=stop)
            stop.wait(interval)

    def close(self) -> None:
        """Close the HTTP client this sender made (a client passed in stays the caller's)."""
        if self._own_client:
            self.client.close()


def deliver_due(
    engine: Engine,
    channel: str,
    url: str,
    *,
    retry: RetryPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
    client: httpx.Client | None = None,
) -> SendReport:
    """Send what is due now on ``channel`` to ``url`` once (a scheduled job's round)."""
    sender = WebhookSender(engine, channel, url, retry=retry, clock=clock, client=client)
    try:
        return sender.send_due()
    finally:
        sender.close()


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (for callers and tests)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
