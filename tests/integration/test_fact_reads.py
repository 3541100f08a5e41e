"""The check's one-statement read (``FactReader.person_facts``) against the plain reads
(``person_id`` then ``facts``), person by person over a synthetic region, on both engines."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

from commutepass.checks.service import CheckRequest, check
from commutepass.commuters.service import identify
from commutepass.domain.decisions import Mode
from commutepass.domain.identity import parse_resident_id
from commutepass.kit.context import App
from commutepass.loads.service import load_file
from commutepass.store.facts import FactReader
from commutepass.synth import write_region
from tests.helpers import at

START = date(2021, 11, 1)


def test_the_one_statement_read_sees_what_the_plain_reads_see(app: App, tmp_path: Path) -> None:
    region = write_region(tmp_path / "region", people=80, days=21, start=START, seed=5)
    for kind in ("travel", "nat", "itinerary", "risk"):
        load_file(app, kind, region.files[kind])
    identify(app, START + timedelta(days=14))
    loaded = app.now()
    with region.files["truth"].open(encoding="utf-8", newline="") as handle:
        people = list(csv.DictReader(handle))
    # checks that let people in: the last entry comes from them too
    for row in people[:20]:
        check(app, CheckRequest(row["id_number"], at("2021-11-19T07:30"), row["site"], Mode(row["mode"])))
    compared = found = with_nats = with_visits = with_entry = 0
    with app.engine.connect() as conn:
        reader = FactReader(conn)
        for moment in ("2021-11-10T07:30", "2021-11-19T09:00", "2021-11-21T18:00", "2020-03-01T08:00"):
            when = at(moment)
            policy = app.policies.in_force(when)
            for known in (None, loaded):
                for row in people:
                    resident = parse_resident_id(row["id_number"])
                    key = app.vault.key(resident)
                    person_id = reader.person_id(key)
                    plain = (
                        reader.facts(person_id, resident.birth_date, when, policy, known)
                        if person_id is not None
                        else None
                    )
                    one = reader.person_facts(key, resident.birth_date, when, policy, known)
                    assert one[0] == person_id, row
                    if plain is not None:
                        assert one[1] == plain, (row["id_number"][-4:], moment, known)
                        found += 1
                        with_nats += bool(plain.nats)
                        with_visits += bool(plain.visits)
                        with_entry += plain.last_entry_at is not None
                    compared += 1
    # not vacuous: the region gives people with NAT results, trip-card days and entries
    assert compared == 4 * 2 * len(people)
    assert found > 0 and with_nats > 0 and with_visits > 0 and with_entry > 0, (found, with_nats, with_visits)
