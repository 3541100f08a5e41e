"""Settings, from the environment (COMMUTEPASS_*) or the command line: one place for all."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMMUTEPASS_", extra="ignore")

    data_dir: Path = Path("var")
    """Where the embedded store, the secret and rejects live (env COMMUTEPASS_DATA_DIR)."""
    database_url: str | None = None
    """SQLAlchemy URL; default a SQLite file in the data directory. PostgreSQL:
    postgresql+psycopg://user:pass@host/db."""
    secret: str | None = None
    """Key for person pseudonyms (HMAC) and the ID vault. Default: a random key created in
    the data directory on first use (file ``secret.key``, mode 0600)."""
    policy_dir: Path | None = None
    """Use the policy files in this folder instead of the built-in versions."""
    now: datetime | None = None
    """A fixed clock (ISO time with zone) for demos and tests: the web pages and the API's default
    time read it instead of the system clock (env COMMUTEPASS_NOW)."""
    password_hash_memory_kib: int = Field(65536, ge=1024)
    """Argon2id memory cost (KiB) of new password hashes; each hash records its own cost, so
    lowering it (the tests do) never locks anyone out."""
    password_hash_rounds: int = Field(3, ge=1)
    """Argon2id time cost of new password hashes."""
    session_lifetime_minutes: int = Field(720, ge=1, le=60 * 24 * 30)
    """A session ends this long after sign-in, however busy (env COMMUTEPASS_SESSION_LIFETIME_MINUTES)."""
    session_idle_minutes: int = Field(60, ge=1, le=60 * 24 * 30)
    """A session ends after this long without a request."""
    signin_free_failures: int = Field(5, ge=1)
    """Failed sign-ins of one account allowed before each further attempt waits (back-off)."""
    signin_backoff_seconds: int = Field(2, ge=1)
    """The first wait; it doubles with every further failure, up to ``signin_backoff_max_seconds``."""
    signin_backoff_max_seconds: int = Field(300, ge=1)
    signin_lockout_failures: int = Field(15, ge=2)
    """Failed sign-ins of one account that lock it for ``signin_lockout_minutes`` (an admin can lift it)."""
    signin_lockout_minutes: int = Field(30, ge=1)
    signin_address_free_failures: int = Field(30, ge=1)
    """Failed sign-ins from one client address (any account) within 15 minutes before it waits too."""
    cookie_secure: bool | None = None
    """Mark the session cookie ``Secure``: true, false, or unset = when the request came over HTTPS
    (behind a TLS-terminating proxy, set it to true)."""
    staff_min_password: int = Field(12, ge=8)
    """Staff passwords (every role but citizen) need at least this many characters."""
    keep_alive_seconds: int = Field(65, ge=1)
    """How long ``serve`` keeps an idle HTTP connection open. Longer than the clients' own idle
    expiry (httpx, the checkpoint client: 5 s), so a client never sends a request on a connection
    the server is closing at that moment (which the client sees as a read error)."""
    fact_index: bool = True
    """Decide the server's checks and ``check --batch`` from an in-memory index of the fact rows,
    kept current from the store at most a second behind (``store.fact_index``; env
    COMMUTEPASS_FACT_INDEX=false reads every check's facts from the store instead)."""
    analyst_min_cell: int = Field(5, ge=1)
    """Analysts' figures suppress counts below this (k-anonymity threshold of ``GET /v1/stats``)."""
    lake_dir: Path | None = None
    """The privacy-safe Parquet copy of travel records that identification reads (per day,
    pseudonymous keys only). Default: ``lake`` in the data directory."""
    spark_master: str | None = None
    """Spark master URL for ``identify --engine spark`` (default ``local[*]``)."""
    alert_webhook_url: str | None = None
    """Where alerts go out (POST, JSON; env COMMUTEPASS_ALERT_WEBHOOK_URL): each opened or resolved
    alert once, from an outbox, retried with back-off until the receiver answers 2xx."""
    notify_webhook_url: str | None = None
    """Where the citizens' messages go out (POST, JSON; env COMMUTEPASS_NOTIFY_WEBHOOK_URL, e.g. an
    SMS gateway): the scheduled ``notifications`` job makes the messages due and sends them from the
    same outbox as the alerts. Without it the messages are only in the citizen's inbox (or sent by
    ``commutepass notify send --url``)."""
    log_level: str = "INFO"
    """Level of the JSON logs on stderr (env COMMUTEPASS_LOG_LEVEL)."""
    access_log: bool = False
    """One JSON line per HTTP request (route, status, ms, request id); env COMMUTEPASS_ACCESS_LOG."""
    scheduler: bool = False
    """Run the scheduled jobs in this process (``serve`` turns it on; ``worker`` runs only them;
    env COMMUTEPASS_SCHEDULER)."""
    sites_file: Path | None = None
    """The site data (lanes, capacity, hours) instead of the built-in ``flow/sites.toml``."""
    warnings_file: Path | None = None
    """The warning rules instead of the built-in ``flow/warnings.toml``."""

    def resolved_lake_dir(self) -> Path:
        return self.lake_dir if self.lake_dir is not None else self.data_dir / "lake"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'commutepass.db').resolve()}"
