"""Outages without loss, on a real PostgreSQL server and the real HTTP server: while several
clients send checks (each with its own ``Idempotency-Key`` and retrying as told), PostgreSQL is
stopped for 30 seconds and started again, and — in the second test — the server process is killed
(SIGKILL) and started again. The API answers 503 with ``Retry-After`` while the store is away
(never a 500, never a hang past the client's timeout), recovers by itself, and every swipe is
recorded exactly once."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from commutepass.accounts import service as auth
from commutepass.checks.writer import idempotent_swipe_id
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.kit.settings import Settings
from tests.conftest import _Server, postgres_bindir
from tests.e2e.auth import FAST_HASHING, PASSWORD
from tests.e2e.support import SECRET, background, free_port, resident_id, wait_until_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CLIENTS = 4
TIMEOUT = 15.0
"""The clients' request timeout: no answer may take longer, outage or not."""
PEOPLE = [resident_id("131082", date(1980 + i % 30, 1 + i % 12, 1 + i % 28), 100 + i) for i in range(40)]


@dataclass
class Tally:
    sent: list[str] = field(default_factory=list)
    """Idempotency keys of the swipes each answered 200 in the end."""
    unavailable: int = 0
    refused_connections: int = 0
    replayed: int = 0
    other: list[str] = field(default_factory=list)
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def durable_postgres() -> Iterator[tuple[_Server, str]]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/bootstrap --system)")
    server = _Server(bindir, durable=True)
    try:
        server.start()
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE outage"))
        admin.dispose()
        yield server, f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/outage"
    finally:
        server.stop()


def _client(base: str, stop: threading.Event, tally: Tally, token: str, n: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        i = 0
        while not stop.is_set():
            key = str(uuid.uuid4())
            body = {"id_number": PEOPLE[(n * 7 + i) % len(PEOPLE)], "site": f"outage-{n}", "mode": "road"}
            i += 1
            while True:  # the same swipe, with the same key, until it is answered
                started = time.monotonic()
                try:
                    answer = http.post("/v1/checks", json=body, headers={**headers, "Idempotency-Key": key})
                except httpx.TransportError:  # the server process is gone (SIGKILL): retry
                    with tally.lock:
                        tally.refused_connections += 1
                    time.sleep(0.2)
                    continue
                finally:
                    with tally.lock:
                        tally.slowest = max(tally.slowest, time.monotonic() - started)
                if answer.status_code == 200:
                    with tally.lock:
                        tally.sent.append(key)
                        tally.replayed += answer.headers.get("Idempotent-Replayed") == "true"
                    break
                if answer.status_code == 503:
                    assert int(answer.headers["Retry-After"]) >= 1
                    assert answer.headers["content-type"] == "application/problem+json"
                    with tally.lock:
                        tally.unavailable += 1
                    time.sleep(0.5)  # a test waits less than Retry-After asks
                    continue
                with tally.lock:
                    tally.other.append(f"{answer.status_code} {answer.text[:300]}")
                break
            time.sleep(0.05)


def _setup(data: Path, url: str) -> tuple[Settings, User]:
    settings = Settings(data_dir=data, secret=SECRET, database_url=url, **FAST_HASHING)
    app = App.open(settings)
    try:
        made = auth.add_user(app, f"gate-{uuid.uuid4().hex[:8]}", PASSWORD, Role.OFFICER)
    finally:
        app.close()
    return settings, User(made["id"], made["username"], Role.OFFICER, None)


def _token(base: str, username: str) -> str:
    answer = httpx.post(f"{base}/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _recorded(url: str, user: User, tally: Tally) -> None:
    """Every answered swipe is in the store exactly once, and nothing else of these clients."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ids = (
                conn.execute(
                    sa.text("SELECT swipe_id FROM checkpoint_swipes WHERE checkpoint = :c"),
                    {"c": f"api:{user.username}"},
                )
                .scalars()
                .all()
            )
            rows = conn.execute(
                sa.text(
                    "SELECT count(*) FROM checks JOIN checkpoint_swipes s ON s.check_id = checks.id "
                    "WHERE s.checkpoint = :c"
                ),
                {"c": f"api:{user.username}"},
            ).scalar_one()
    finally:
        engine.dispose()
    expected = {idempotent_swipe_id(user, key) for key in tally.sent}
    assert len(expected) == len(tally.sent)
    assert set(ids) == expected, f"lost {len(expected - set(ids))}, extra {len(set(ids) - expected)}"
    assert rows == len(expected), "each swipe is one check row"


def _run_clients(base: str, token: str, tally: Tally) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [threading.Thread(target=_client, args=(base, stop, tally, token, n)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return stop, threads


def test_postgres_stopped_for_30_seconds_under_load_loses_and_doubles_nothing(
    durable_postgres: tuple[_Server, str], tmp_path: Path
) -> None:
    server, url = durable_postgres
    settings, officer = _setup(tmp_path / "data", url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"COMMUTEPASS_DATABASE_URL": url}
    with background(settings.data_dir, "serve", "--port", str(port), env=env) as running:
        wait_until_healthy(base, running)
        tally = Tally()
        stop, threads = _run_clients(base, _token(base, officer.username), tally)
        time.sleep(3)
        before = len(tally.sent)
        server.pause()
        time.sleep(30)
        during = tally.unavailable
        server.resume()
        time.sleep(6)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert running.process.poll() is None, "the server kept running"
    assert tally.other == [], tally.other[:5]
    assert before > 0 and during > 0, "checks went through before, and were answered 503 during the outage"
    assert len(tally.sent) > before + CLIENTS, "it recovered by itself after the database came back"
    assert tally.slowest < TIMEOUT
    _recorded(url, officer, tally)


def test_the_server_killed_mid_load_loses_and_doubles_nothing(
    durable_postgres: tuple[_Server, str], tmp_path: Path
) -> None:
    _server, url = durable_postgres
    settings, officer = _setup(tmp_path / "data", url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"COMMUTEPASS_DATABASE_URL": url}
    with background(settings.data_dir, "serve", "--port", str(port), env=env) as first:
        wait_until_healthy(base, first)
        tally = Tally()
        stop, threads = _run_clients(base, _token(base, officer.username), tally)
        time.sleep(3)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        killed_at = len(tally.sent)
    with background(settings.data_dir, "serve", "--port", str(port), env=env) as second:
        wait_until_healthy(base, second)
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert tally.other == [], tally.other[:5]
    assert killed_at > 0 and tally.refused_connections > 0
    assert len(tally.sent) > killed_at, "the clients carried on against the restarted server"
    _recorded(url, officer, tally)
