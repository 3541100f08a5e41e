"""A partition of the replay: read its items' facts (the store's fact reader, as a live check reads
them) and re-decide them (``replay.redecide_all``). Runs in a worker process of the local engine,
or — the reading half only — before the Spark engine ships the items to its executors.

Memory is bounded by a partition: a worker holds one partition's rows at a time and writes its
diff to its own Parquet file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from commutepass.domain.clock import local_date
from commutepass.domain.facts import PersonFacts
from commutepass.domain.identity import age_on
from commutepass.domain.policy import Policy
from commutepass.domain.regions import region_catalog
from commutepass.store.db import make_engine
from commutepass.store.facts import FactReader
from commutepass.whatif import repository
from commutepass.whatif.replay import (
    Item,
    RiskHistory,
    RiskVersionRow,
    as_replacing,
    facts_json,
    items_table,
    redecide_all,
)

PSEUDONYM_HEX = 16
"""A person in the report: the first 16 hex digits of their keyed hash (never an ID number)."""


@dataclass(frozen=True)
class Task:
    """One partition: a range of check row ids, or a chunk of people at one daily reference time."""

    number: int
    kind: str  # check | status
    start: datetime
    end: datetime
    first_id: int = 0
    last_id: int = -1
    person_ids: tuple[int, ...] = ()
    moment: datetime | None = None
    horizon: datetime | None = None
    base_version: str = ""

    @property
    def name(self) -> str:
        return f"part-{self.number:06d}"


@dataclass(frozen=True)
class Shared:
    """What every partition needs, shipped once to each worker."""

    database_url: str
    policies: dict[str, Policy]
    candidate: Policy
    against: str | None
    risk_rows: tuple[RiskVersionRow, ...]


@dataclass
class Counts:
    items: int = 0
    infants_skipped: int = 0


def _same_slice(a: Policy, b: Policy) -> bool:
    """Whether the fact reader reads the same slice under both policies (see ``FactReader.facts``)."""
    return (a.risk.enabled, a.risk.lookback_days, a.effective_from) == (
        b.risk.enabled,
        b.risk.lookback_days,
        b.effective_from,
    )


def _infant(birth: object, at: datetime, *policies: Policy) -> bool:
    """An infant's check was decided on companions, which a check row does not keep: not replayable."""
    age = age_on(birth, local_date(at))  # type: ignore[arg-type]
    return any(p.nat.required_for_entry and age <= p.special.infant_max_age for p in policies)


class Reader:
    """Reads the items of partitions over one database engine (one per worker)."""

    def __init__(self, shared: Shared, engine: Engine | None = None) -> None:
        self.shared = shared
        self.engine = engine or make_engine(shared.database_url)
        self.catalog = region_catalog()
        self.risk = RiskHistory(shared.risk_rows, self.catalog)

    def _facts(
        self, reader: FactReader, person_id: int, birth: object, at: datetime, base: Policy, known: datetime
    ) -> tuple[str, str]:
        cand = as_replacing(self.shared.candidate, base)
        b: PersonFacts = reader.facts(person_id, birth, at, base, known)  # type: ignore[arg-type]
        b_text = facts_json(b)
        if _same_slice(base, cand):
            return b_text, b_text
        return b_text, facts_json(reader.facts(person_id, birth, at, cand, known))  # type: ignore[arg-type]

    def items(self, task: Task, counts: Counts) -> list[Item]:
        shared = self.shared
        out: list[Item] = []
        with self.engine.connect() as conn:
            reader = FactReader(conn)
            if task.kind == "check":
                for row in repository.checks_between(conn, task.first_id, task.last_id, task.start, task.end):
                    version = shared.against or row.policy_version
                    base = shared.policies[version]
                    if _infant(row.birth_date, row.at, base, shared.candidate):
                        counts.infants_skipped += 1
                        continue
                    b, c = self._facts(reader, row.person_id, row.birth_date, row.at, base, row.known_at)
                    out.append(
                        Item(
                            "check",
                            f"check:{row.id}",
                            row.id,
                            row.person_key[:PSEUDONYM_HEX],
                            row.at,
                            row.site,
                            row.mode,
                            bool(row.smartphone),
                            row.decision,
                            version,
                            self.risk.prefix(row.known_at),
                            b,
                            c,
                        )
                    )
            else:
                assert task.moment is not None and task.horizon is not None
                base = shared.policies[task.base_version]
                day = local_date(task.moment).isoformat()
                for person in repository.people_rows(conn, task.person_ids):
                    b, c = self._facts(reader, person.id, person.birth_date, task.moment, base, task.horizon)
                    out.append(
                        Item(
                            "status",
                            f"status:{person.id}:{day}",
                            None,
                            person.person_key[:PSEUDONYM_HEX],
                            task.moment,
                            None,
                            None,
                            True,
                            None,
                            task.base_version,
                            self.risk.prefix(task.horizon),
                            b,
                            c,
                        )
                    )
        counts.items += len(out)
        return out

    def decide(self, items: list[Item]) -> pa.Table:
        return redecide_all(items, self.shared.policies, self.shared.candidate, self.risk, self.catalog)


# ── the local engine's worker ────────────────────────────────────────────────────────────────

_READER: Reader | None = None


def init_worker(shared: Shared) -> None:
    global _READER
    _READER = Reader(shared)


def run_task(task: Task, folder: str, extract_only: bool = False) -> tuple[int, int]:
    """Read a partition and write its diff (or, for the Spark engine, its items) to ``folder``.
    Returns (items, infants skipped)."""
    assert _READER is not None, "init_worker first"
    return run_with(_READER, task, Path(folder), extract_only)


def run_with(reader: Reader, task: Task, folder: Path, extract_only: bool = False) -> tuple[int, int]:
    counts = Counts()
    items = reader.items(task, counts)
    table = items_table(items) if extract_only else reader.decide(items)
    if table.num_rows:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{task.name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        tmp.replace(folder / f"{task.name}.parquet")
    return counts.items, counts.infants_skipped


DAY = timedelta(days=1)
