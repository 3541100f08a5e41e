"""The application context: settings, engine, secrets, policies and reference data, built once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine

from commutepass.domain.clock import BEIJING
from commutepass.domain.facts import RiskMap
from commutepass.domain.identity import ResidentId
from commutepass.domain.policy import Policy, PolicyBook
from commutepass.domain.policy_authoring import ACTIVE
from commutepass.domain.regions import RegionCatalog, region_catalog
from commutepass.kit.security import IdVault, load_or_create_secret
from commutepass.kit.settings import Settings
from commutepass.policies import builtin_policies, load_policy_dir, policy_from_text, policy_texts
from commutepass.store import policy_store
from commutepass.store import repositories as repo
from commutepass.store.db import make_engine, migrate

RISK_RECHECK_SECONDS = 1.0


@dataclass
class App:
    settings: Settings
    engine: Engine
    vault: IdVault
    base_policies: PolicyBook
    """The versions the app was built with (the built-in files): seeded into the store."""
    catalog: RegionCatalog

    def __post_init__(self) -> None:
        self._book: PolicyBook = self.base_policies
        self._book_fingerprint: tuple[object, ...] = ()
        self._book_checked = -1.0
        self._parsed: dict[tuple[str, datetime], Policy] = {}
        self._risk_map: RiskMap | None = None
        self._risk_fingerprint: tuple[object, ...] = ()
        self._risk_checked = 0.0
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings | None = None) -> App:
        settings = settings or Settings()
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        secret = load_or_create_secret(settings.data_dir, settings.secret)
        policies = load_policy_dir(settings.policy_dir) if settings.policy_dir else builtin_policies()
        texts = policy_texts(settings.policy_dir)
        with engine.begin() as conn:
            policy_store.seed(conn, [(p.version, text, p.effective_from) for p, text in texts])
        return cls(settings, engine, IdVault(secret), policies, region_catalog())

    @property
    def policies(self) -> PolicyBook:
        """The policy book as the store holds it: the built-in versions and those scheduled by
        admins (not withdrawn). Another server may schedule or withdraw a version: at most once
        a second the table's fingerprint is read and the book rebuilt if it moved."""
        with self._lock:
            now = time.monotonic()
            if self._book_checked >= 0 and now - self._book_checked < RISK_RECHECK_SECONDS:
                return self._book
            with self.engine.connect() as conn:
                fingerprint = policy_store.fingerprint(conn)
                if fingerprint != self._book_fingerprint:
                    active = [v for v in policy_store.all_versions(conn) if v.state in ACTIVE]
                    if active:
                        self._book = PolicyBook([self._policy_of(v) for v in active])
                    self._book_fingerprint = fingerprint
            self._book_checked = now
            return self._book

    def _policy_of(self, stored: policy_store.StoredVersion) -> Policy:
        key = (stored.body, stored.effective_from)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = policy_from_text(stored.body, stored.effective_from)
        return parsed

    def policies_changed(self) -> None:
        """This process changed the book: read it again at the next question."""
        with self._lock:
            self._book_checked = -1.0
            self._book_fingerprint = ()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def risk_map(self, known_at: datetime | None = None) -> RiskMap:
        """Risk periods, indexed. Another process (the CLI, another worker) may load risk files:
        at most once a second the table's fingerprint is read and the index rebuilt if it moved.

        ``known_at``: the periods as recorded by then (each (county, level, start) in its latest
        version recorded by ``known_at``), built for the question (not cached)."""
        if known_at is not None:
            with self.engine.connect() as conn:
                return RiskMap.build(repo.all_risk_periods(conn, known_at), self.catalog)
        with self._lock:
            now = time.monotonic()
            if self._risk_map is None or now - self._risk_checked >= RISK_RECHECK_SECONDS:
                with self.engine.connect() as conn:
                    fingerprint = repo.risk_fingerprint(conn)
                    if self._risk_map is None or fingerprint != self._risk_fingerprint:
                        self._risk_map = RiskMap.build(repo.all_risk_periods(conn), self.catalog)
                        self._risk_fingerprint = fingerprint
                self._risk_checked = now
            return self._risk_map

    def risk_changed(self) -> None:
        with self._lock:
            self._risk_map = None

    def now(self) -> datetime:
        """The current time: the configured fixed clock, else the system clock (UTC)."""
        fixed = self.settings.now
        if fixed is None:
            return datetime.now(UTC)
        if fixed.tzinfo is None:
            return fixed.replace(tzinfo=BEIJING)
        return fixed

    def moment(self, value: datetime | None) -> datetime:
        """A time a request gave (Beijing time when it has no offset), or now."""
        if value is None:
            return self.now().astimezone(BEIJING)
        return value if value.tzinfo else value.replace(tzinfo=BEIJING)

    def person_row(self, resident: ResidentId) -> tuple[str, date, str, str]:
        """(key, birth date, masked number, encrypted number): how a person is stored."""
        return (self.vault.key(resident), resident.birth_date, resident.masked, self.vault.encrypt(resident))

    def ensure_person(self, conn: Connection, resident: ResidentId) -> int:
        """The person's row id, created if new: the one way a person comes to be stored."""
        row = self.person_row(resident)
        return repo.ensure_people(conn, [row])[row[0]]

    def close(self) -> None:
        self.engine.dispose()
