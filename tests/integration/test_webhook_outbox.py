"""The outbound channel (issue 13, item 3): the outbox and its webhook sender against a real
local HTTP receiver, on SQLite and PostgreSQL — retries until the receiver takes a message, none
lost, none sent twice when the sender (a real ``commutepass notify send`` process) is stopped
and started again; after a hard kill, a repeat carries the same message id for the receiver to
drop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from commutepass.kit import outbox
from commutepass.kit.context import App
from commutepass.store.tables import outbox as outbox_table
from tests.e2e.support import cli_env, cli_prefix
from tests.helpers import TEST_SECRET

CHANNEL = "webhook"


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: records every delivery; can fail or stall on demand."""

    url: str = ""
    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_next: int = 0
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [i for i, _ in self.deliveries]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if state.delay:
                threading.Event().wait(state.delay)
            with state.lock:
                failing = state.fail_next > 0
                if failing:
                    state.fail_next -= 1
                else:
                    state.deliveries.append((self.headers["Idempotency-Key"], json.loads(body)))
            self.send_response(503 if failing else 204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _fill(app: App, count: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [f"notification-{n}" for n in range(1, count + 1)]
    with app.transaction() as conn:
        for message_id in ids:
            assert outbox.enqueue(
                conn, CHANNEL, message_id, {"id": message_id, "zh": "消息", "en": "message"}, now
            )
        assert not outbox.enqueue(conn, CHANNEL, ids[0], {"id": ids[0]}, now)  # an id is queued once
    return ids


def _pending(app: App) -> int:
    with app.engine.connect() as conn:
        return outbox.pending(conn, CHANNEL)


def test_the_sender_retries_until_the_receiver_takes_each_message_once(app: App, receiver: Receiver) -> None:
    ids = _fill(app, 5)
    receiver.fail_next = 2  # the gateway is down for two requests
    clock = [datetime.now(UTC)]
    sender = outbox.WebhookSender(
        app.engine,
        CHANNEL,
        receiver.url,
        retry=outbox.RetryPolicy(first_delay_seconds=30),
        clock=lambda: clock[0],
    )
    first = sender.send_due()
    assert (first.sent, first.failed) == (3, 2)  # the first two failed and wait for their retry
    assert sender.send_due().sent == 0  # not due yet: backed off 30 s
    with app.engine.connect() as conn:
        waiting = conn.execute(
            select(outbox_table.c.message_id, outbox_table.c.attempts, outbox_table.c.last_error).where(
                outbox_table.c.sent_at.is_(None)
            )
        ).all()
    assert [(w.attempts, w.last_error[:8]) for w in waiting] == [(1, "HTTP 503"), (1, "HTTP 503")]
    clock[0] += timedelta(seconds=31)
    assert sender.send_due().sent == 2
    sender.close()
    assert sorted(receiver.ids()) == sorted(ids) and _pending(app) == 0
    assert all(body["id"] == key for key, body in receiver.deliveries)


def _start_sender(app: App, url: str) -> subprocess.Popen[str]:
    env = cli_env()
    env["COMMUTEPASS_SECRET"] = TEST_SECRET
    env["COMMUTEPASS_DATABASE_URL"] = app.settings.resolved_database_url()
    argv = [
        *cli_prefix(),
        "--data-dir",
        str(app.settings.data_dir),
        "notify",
        "send",
        "--url",
        url,
        "--interval",
        "0.1",
        "--no-refresh",
        "--lease-seconds",
        "2",
    ]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(predicate: Any, what: str, sender: subprocess.Popen[str], timeout: float = 60.0) -> None:
    if outbox.wait_for(predicate, timeout):
        return
    sender.kill()
    _out, err = sender.communicate(timeout=30)
    pytest.fail(f"{what}; the sender said:\n{err[-3000:]}")


def test_a_restarted_sender_loses_none_and_sends_none_twice(app: App, receiver: Receiver) -> None:
    ids = _fill(app, 30)
    receiver.delay = 0.05  # slow enough that the stop lands mid-run
    sender = _start_sender(app, receiver.url)
    try:
        _wait(lambda: len(receiver.ids()) >= 5, "the first sender delivered nothing", sender)
        sender.send_signal(signal.SIGTERM)
        assert sender.wait(timeout=30) == 0, sender.stderr.read() if sender.stderr else ""
    finally:
        if sender.poll() is None:
            sender.kill()
    delivered = len(receiver.ids())
    assert 5 <= delivered < len(ids), "stop it mid-run"
    assert _pending(app) == len(ids) - delivered  # every delivery was marked before it stopped
    again = _start_sender(app, receiver.url)
    try:
        _wait(lambda: _pending(app) == 0, "the second sender did not finish", again)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
    assert sorted(receiver.ids()) == sorted(ids), "lost or repeated"
    assert len(receiver.ids()) == len(set(receiver.ids()))


def test_after_a_hard_kill_a_repeat_carries_the_same_id(app: App, receiver: Receiver) -> None:
    """SIGKILL between the receiver's answer and the mark can repeat the message in flight (no
    sender alone can close that window): it comes again with the same id, nothing is lost."""
    ids = _fill(app, 20)
    receiver.delay = 0.05
    sender = _start_sender(app, receiver.url)
    try:
        _wait(lambda: len(receiver.ids()) >= 5, "the first sender delivered nothing", sender)
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()
    again = _start_sender(app, receiver.url)
    try:
        _wait(lambda: _pending(app) == 0, "the second sender did not finish", again)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
    got = receiver.ids()
    assert set(got) == set(ids), "lost"
    assert len(got) - len(set(got)) <= 1, "more than the one message in flight was repeated"
