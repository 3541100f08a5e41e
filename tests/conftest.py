"""Fixtures shared by every test layer: a real PostgreSQL server, a fresh store per test, the App.

PostgreSQL: the session starts its own server from Debian's binaries (``/usr/lib/postgresql/N/bin``)
in a temporary directory, on a free port of 127.0.0.1, and stops it at the end. As root, the
server runs as the ``postgres`` system user (PostgreSQL refuses to run as root). Set
``COMMUTEPASS_TEST_POSTGRES_URL`` to use a server of your own instead; each test gets a database of
its own on it (``CREATE DATABASE test_<hex>``), dropped afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from commutepass.kit.context import App
from tests.helpers import free_port, open_app

POSTGRES_URL_ENV = "COMMUTEPASS_TEST_POSTGRES_URL"
NO_POSTGRES = (
    "no PostgreSQL server binaries (initdb, pg_ctl) found under /usr/lib/postgresql/*/bin or "
    f"`pg_config --bindir`, and {POSTGRES_URL_ENV} is not set: install Debian's postgresql "
    "package; scripts/test does it"
)


def _version_key(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip())
    for candidate in candidates:
        bindir = Path(candidate)
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _missing_postgres(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _runuser() -> str | None:
    """util-linux's runuser: on PATH, or in /usr/sbin (not on every user's PATH)."""
    return shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class _Server:
    """One throw-away PostgreSQL cluster in a temporary directory."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        # fast for tests; ``durable`` keeps every acknowledged commit across an immediate stop
        self.tuning = "" if durable else "-c synchronous_commit=off -c full_page_writes=off"
        self.as_postgres = os.geteuid() == 0
        # Not under pytest's tmp_path: its parent is 0700 root, which the postgres user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="commutepass-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = [_runuser() or "runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> None:
        init = self.run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
        for _attempt in range(3):  # the port can be taken between probing and binding
            self.port = free_port()
            options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F {self.tuning}"
            started = self.run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"
            )
            if started.returncode == 0:
                return
        log = self.log.read_text(errors="replace") if self.log.exists() else ""
        pytest.fail(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{log}", pytrace=False)

    def pause(self) -> None:
        """Stop the server at once (as a crash or an outage would), keeping its data."""
        stopped = self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        assert stopped.returncode == 0, stopped.stderr

    def resume(self) -> None:
        """Start the paused server again on the same port."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F {self.tuning}"
        started = self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"
        )
        assert started.returncode == 0, started.stderr

    def stop(self) -> None:
        if self.data.exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a database on a running PostgreSQL server, for the whole session."""
    configured = os.environ.get(POSTGRES_URL_ENV)
    if configured:
        yield configured
        return
    bindir = postgres_bindir()
    if bindir is None:
        _missing_postgres(NO_POSTGRES)
    if os.geteuid() == 0 and (_runuser() is None or not _user_exists("postgres")):
        _missing_postgres(f"running as root needs `runuser` and the `postgres` system user: {NO_POSTGRES}")
    server = _Server(bindir)
    try:
        server.start()
        admin = _admin_engine(f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE commutepass_test"))
        admin.dispose()
        yield f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/commutepass_test"
    finally:
        server.stop()


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'commutepass.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    with fresh_postgres_database(server_url) as url:
        yield url


@pytest.fixture
def app(tmp_path: Path, store_url: str) -> Iterator[App]:
    application = open_app(tmp_path, store_url)
    try:
        yield application
    finally:
        application.close()
