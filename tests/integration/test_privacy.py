"""No raw ID number is ever stored: the whole database, dumped, holds none of the numbers it was given."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from commutepass.checks.service import CheckRequest, check, check_batch
from commutepass.commuters.service import add_commuter, identify
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Source
from commutepass.kit.context import App
from commutepass.loads.service import load_file
from commutepass.synth import write_region
from tests.helpers import at, dump_database, make_id, masked, row_counts, write_csv


def test_the_database_holds_no_raw_id_number(app: App, tmp_path: Path) -> None:
    region = write_region(tmp_path / "region", people=60, days=21, start=date(2021, 11, 1), seed=11)
    for kind in ("travel", "nat", "itinerary", "risk"):
        load_file(app, kind, region.files[kind])
    with region.files["truth"].open(encoding="utf-8", newline="") as handle:
        numbers = [row["id_number"] for row in csv.DictReader(handle)]
    identify(app, date(2021, 11, 21))

    applicant = make_id("120114", date(1987, 6, 5), 301)
    infant = make_id("131082", date(2020, 5, 1), 302)
    parent = make_id("131082", date(1990, 3, 7), 303)
    add_commuter(app, applicant, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="120114")
    add_commuter(app, numbers[0], since=date(2021, 11, 25), source=Source.MANUAL, reason="police review")
    for number in (applicant, numbers[1], numbers[2]):
        check(app, CheckRequest(number, at("2021-11-22T07:30"), "西集检查站", Mode.ROAD))
    check(app, CheckRequest(infant, at("2021-11-22T08:00"), "武清站", Mode.RAIL, companions=(parent,)))
    batch = write_csv(
        tmp_path / "checks.csv",
        ["id_number", "at", "site", "mode", "smartphone"],
        [(n, "2021-11-23T07:30", "白庙检查站", "road", "false") for n in numbers[3:8]],
    )
    assert all("error" not in line for line in check_batch(app, batch))
    used = [*numbers, applicant, infant, parent]

    counts = row_counts(app.engine)
    assert counts["people"] >= len(numbers) and counts["checks"] == 9 and counts["commuter_entries"] > 2
    dump = dump_database(app.engine)

    leaked = [masked(n) for n in used if n in dump or n.lower() in dump]
    assert leaked == [], f"raw ID numbers found in the database: {leaked}"
    shown = [n for n in (*numbers[:8], applicant, infant) if masked(n) in dump]
    assert len(shown) == 10, "the dump should hold the masked numbers of everyone stored"


def test_the_workflows_store_no_raw_id_number(app: App, tmp_path: Path) -> None:
    """Users, family links, applications, documents, appeals, overrides, the board and the
    audit log: still no raw ID number anywhere."""
    from commutepass.accounts import service as auth
    from commutepass.appeals import service as appeals
    from commutepass.applications import service as applications
    from commutepass.domain.roles import Role
    from commutepass.domain.workflows import AppealKind, AppealState, AppState
    from commutepass.feedback import service as feedback

    citizen_id = make_id("131082", date(1990, 1, 1), 401)
    child_id = make_id("131082", date(2016, 2, 2), 402)
    for role in Role:
        auth.add_user(
            app,
            f"u-{role.value}",
            "long enough, really",
            role,
            id_number=citizen_id if role is Role.CITIZEN else None,
        )
    users = {role: auth.sign_in(app, f"u-{role.value}", "long enough, really").user for role in Role}
    auth.add_family(app, users[Role.CITIZEN], child_id)
    child = next(link for link in auth.pending_links(app) if link["id"] == masked(child_id))
    auth.verify_family(
        app, users[Role.REVIEWER], child["adder"], child["person"], f"birth certificate {child_id}"
    )
    filed = applications.submit(
        app,
        users[Role.OFFICER],
        citizen_id,
        statement=f"ID {citizen_id} at the window",
        home_county="131082",
        work_county="110105",
    )
    for kind in ("id_card", "work_proof", "residence_proof", "nat_proof"):
        applications.add_document(app, users[Role.OFFICER], filed["id"], kind, b"%PDF-1.4 " + kind.encode())
    applications.decide(app, users[Role.REVIEWER], filed["id"], AppState.APPROVED, "complete")
    appeal = appeals.file(app, users[Role.CITIZEN], child_id, AppealKind.BADGE, "my child is no commuter?")
    appeals.get(app, users[Role.REVIEWER], appeal["id"])
    appeals.decide_appeal(
        app, users[Role.REVIEWER], appeal["id"], AppealState.REJECTED, "a child does not commute"
    )
    feedback.post(app, users[Role.CITIZEN], f"my number is {citizen_id}")
    dump = dump_database(app.engine)
    assert citizen_id not in dump and child_id not in dump
    assert masked(citizen_id) in dump and masked(child_id) in dump
