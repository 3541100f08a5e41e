"""One pipeline per check: every entry point that makes a checkpoint check records it once, audits
it once, and never shows an officer where the person travelled.

The person here has a valid negative NAT but spent a day on the trip card in a county with a local
case (辽宁省大连市庄河市, 210283) within the look-back: under policy 2021-11-17 they are refused,
with a yellow code and the case-county pop-up. For each way a check can arrive — the command line
(single and batch), ``POST /v1/checks``, the web console, a signed code (over the API and scanned
at the console), a checkpoint's upload decided here, an offline decision uploaded later, and the
offline checkpoint client itself — this module pins that:

(a) exactly one new row in ``checks`` (a second upload of the same swipe id adds nothing);
(b) exactly one new audit entry with action ``check``, by the right actor;
(c) an officer's answer names no trip place or trip date (county code, county name, the trip day;
    no reason with a ``place``/``risk_place`` parameter), while its decision still shows the trip
    mattered (refused for risk travel, the case-county pop-up); the operator's full view at the
    command line does name the place, so the officer's view is the same answer with it removed.

Runs on SQLite and on PostgreSQL (the ``store_url`` fixture).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Row, select
from typer.testing import CliRunner

from commutepass.accounts.service import add_user
from commutepass.app import create_app
from commutepass.checkpoints.client import Checkpoint
from commutepass.checks.service import CheckRequest, decide, preview
from commutepass.cli import app as cli_app
from commutepass.credentials.service import issue
from commutepass.domain.decisions import Mode
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.sessions import cli_user
from commutepass.kit.settings import Settings
from commutepass.loads.service import COLUMNS, load_file
from commutepass.store.tables import audit_log, checkpoint_swipes, checks
from tests.e2e.auth import FAST_HASHING, PASSWORD, sign_in
from tests.helpers import TEST_SECRET, at, free_port, make_id, masked, write_csv

CHECK_AT = "2021-11-29T08:00"
"""Every check happens at this moment (Beijing time); it is also the fixed clock of the server."""
NOW = at(CHECK_AT)
SNAPSHOT_AT = "2021-11-29T07:00"
ISSUED_AT = "2021-11-29T07:30"
SITE = "白庙检查站"
CHECKPOINT = "白庙检查站-1"
OFFICER = "gate-officer"
POLICY = "2021-11-17"

CASE_COUNTY = "210283"
"""辽宁省大连市庄河市: a county of a sub-provincial city, so a case there makes only it risky."""
CASE_COUNTY_NAME = "庄河市"
CASE_COUNTY_FULL_NAME = "辽宁省大连市庄河市"
TRIP_DAY = "2021-11-27"
"""The day the trip card places the traveller in the case county (two days before the checks)."""
TRAVELLER = make_id("131082", date(1992, 9, 9), 501)

FORBIDDEN = (CASE_COUNTY, CASE_COUNTY_NAME, "庄河", CASE_COUNTY_FULL_NAME, TRIP_DAY)
"""What an officer's answer must never hold: the trip's place (code, names) and its date."""
PLACE_PARAMS = {"place", "risk_place"}
REASON_LISTS = ("reasons", "status_reasons", "to_check_by_hand")


# --- the scene --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    app: App
    data_dir: Path
    database_url: str


@pytest.fixture
def scene(tmp_path: Path, store_url: str) -> Iterator[Scene]:
    """A fresh store with the traveller's NAT and trip, the case county's risk period, an officer;
    the App's clock fixed at ``CHECK_AT`` (the console checks "now")."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=store_url,
        secret=TEST_SECRET,
        policy_dir=None,
        now=NOW,
        **FAST_HASHING,
    )
    app = App.open(settings)
    try:
        inputs = tmp_path / "inputs"
        files: dict[str, list[tuple[str, ...]]] = {
            "risk": [(CASE_COUNTY, "case", "2021-11-04", "")],
            "itinerary": [(TRAVELLER, TRIP_DAY, CASE_COUNTY)],
            # without the trip this NAT lets the traveller in at CHECK_AT (sampled 24 h before)
            "nat": [(TRAVELLER, "2021-11-28T08:00", "2021-11-28T20:00", "negative", "三河市医院")],
        }
        for kind, rows in files.items():
            summary = load_file(app, kind, write_csv(inputs / f"{kind}.csv", COLUMNS[kind], rows))
            assert (summary.added, summary.rejected) == (1, 0), summary.as_dict()
        add_user(app, OFFICER, PASSWORD, Role.OFFICER)
        yield Scene(app, tmp_path, store_url)
    finally:
        app.close()


# --- what the store holds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """The ``checks`` rows and the audit entries with action ``check``, at one moment."""

    checks: list[Row[Any]]
    audited: list[Row[Any]]


def ledger(app: App) -> Ledger:
    with app.engine.connect() as conn:
        rows = list(conn.execute(select(checks).order_by(checks.c.id)))
        entries = list(
            conn.execute(select(audit_log).where(audit_log.c.action == "check").order_by(audit_log.c.seq))
        )
    return Ledger(rows, entries)


def one_new(before: Ledger, after: Ledger) -> tuple[Row[Any], Row[Any]]:
    """The single new ``checks`` row and the single new ``check`` audit entry (fails otherwise)."""
    old_ids = {r.id for r in before.checks}
    old_seqs = {e.seq for e in before.audited}
    new_checks = [r for r in after.checks if r.id not in old_ids]
    new_entries = [e for e in after.audited if e.seq not in old_seqs]
    assert len(new_checks) == 1, f"expected exactly one new checks row, got {len(new_checks)}: {new_checks}"
    assert len(new_entries) == 1, (
        f"expected exactly one new 'check' audit entry, got {len(new_entries)}: {new_entries}"
    )
    row, entry = new_checks[0], new_entries[0]
    assert entry.person_id == row.person_id, "the audit entry is about the person of the swipe"
    return row, entry


def assert_refused_for_the_trip(row: Row[Any], *, offline: bool = False) -> None:
    """The recorded swipe: refused, no entry, under the policy in force, for the trip."""
    assert (row.decision, row.entered, row.policy_version) == ("refuse", False, POLICY)
    assert (row.site, row.mode) == (SITE, "road")
    assert row.at == NOW
    recorded = json.loads(row.reasons)
    assert "REFUSE_RISK_TRAVEL" in recorded, recorded
    assert ("OFFLINE_DECISION" in recorded) is offline, recorded


def assert_from_checkpoint(entry: Row[Any], *, offline: bool) -> None:
    """The audit entry says which checkpoint sent the swipe and whether it was decided offline."""
    detail = json.loads(entry.detail)
    assert (detail.get("checkpoint"), detail.get("offline")) == (CHECKPOINT, offline), detail


# --- what the caller sees -----------------------------------------------------------------------------


def codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


def leaks(text: str) -> list[str]:
    return [s for s in FORBIDDEN if s in text]


def place_reasons(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Every reason of the answer that has a ``place`` or ``risk_place`` parameter."""
    return [
        reason
        for key in REASON_LISTS
        for reason in answer.get(key) or []
        if PLACE_PARAMS & set(reason.get("params") or {})
    ]


def assert_officer_view(answer: dict[str, Any]) -> None:
    """(c): no trip place or date anywhere, no place-naming reason; and the trip still decided."""
    text = json.dumps(answer, ensure_ascii=False)
    assert leaks(text) == [], f"the officer's answer names the trip ({leaks(text)}): {text}"
    for key in REASON_LISTS:
        assert isinstance(answer.get(key), list), f"{key} missing from the officer's answer: {text}"
    assert place_reasons(answer) == [], text
    # not vacuous: the trip is what refuses this person (their NAT alone would let them in)
    assert answer["decision"] == "refuse", text
    assert "REFUSE_RISK_TRAVEL" in codes(answer["reasons"]), text
    assert answer["color"] == "yellow", text
    assert (answer["popup"] or {}).get("code") == "POPUP_TRAVEL_CASE_COUNTY", text


def assert_full_view(answer: dict[str, Any]) -> None:
    """The operator's view (command line): the same refusal, and it names the place and the day."""
    text = json.dumps(answer, ensure_ascii=False)
    assert answer["decision"] == "refuse", text
    assert "REFUSE_RISK_TRAVEL" in codes(answer["reasons"]), text
    (trip,) = [r for r in answer["status_reasons"] if r["code"] == "TRAVEL_CASE_COUNTY"]
    assert CASE_COUNTY in trip["params"]["place"] and CASE_COUNTY_NAME in trip["params"]["place"], trip
    assert trip["params"]["last_day"] == TRIP_DAY, trip
    assert leaks(text) == list(FORBIDDEN), "the full view names the trip's place and day"


# --- entry points ---------------------------------------------------------------------------------------


def run_cli(scene: Scene, *args: str) -> list[dict[str, Any]]:
    """``commutepass --data-dir DIR ARGS`` in process, on the scene's store; its JSON lines."""
    env: dict[str, str | None] = {
        "COMMUTEPASS_DATABASE_URL": scene.database_url,
        "COMMUTEPASS_SECRET": TEST_SECRET,
        "COMMUTEPASS_DATA_DIR": None,
        "COMMUTEPASS_POLICY_DIR": None,
        "COMMUTEPASS_NOW": None,
    }
    result = CliRunner().invoke(cli_app, ["--data-dir", str(scene.data_dir), *args], env=env)
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def cli_check(scene: Scene) -> dict[str, Any]:
    (line,) = run_cli(scene, "check", TRAVELLER, "--at", CHECK_AT, "--site", SITE, "--mode", "road")
    return line


@contextmanager
def api(scene: Scene) -> Iterator[TestClient]:
    """The HTTP app in process on the scene's App. Leaving it stops the swipe writer, which appends
    the audit entries it still holds: count them after the block."""
    with TestClient(create_app(application=scene.app)) as client:
        yield client


def officer_headers(client: TestClient) -> dict[str, str]:
    headers = sign_in(client, OFFICER)
    client.cookies.clear()  # the token endpoint also sets the cookie: use the bearer token only
    return headers


def http_check(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        "/v1/checks",
        json={"id_number": TRAVELLER, "at": CHECK_AT, "site": SITE, "mode": "road"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert leaks(response.text) == [], response.text
    answer: dict[str, Any] = response.json()
    return answer


def console_sign_in(client: TestClient) -> None:
    signed = client.post("/login", data={"username": OFFICER, "password": PASSWORD})
    assert signed.status_code == 200 and "commutepass_session" in client.cookies, signed.text


def assert_console_verdict(html: str) -> None:
    """(c) on the console's page: no trip place or date, the refusal for the trip shown."""
    assert leaks(html) == [], f"the console names the trip: {leaks(html)}"
    assert 'data-decision="refuse"' in html
    assert 'data-code="REFUSE_RISK_TRAVEL"' in html
    assert 'data-code="TRAVEL_CASE_COUNTY"' not in html


def a_code(scene: Scene) -> str:
    """A signed code of the traveller's status (yellow, case-county pop-up), issued at the CLI."""
    issued = issue(scene.app, cli_user(), TRAVELLER, at(ISSUED_AT))
    code: str = issued["code"]
    assert code.startswith("JJJ1:")
    return code


def swipes_body(swipe_id: str, **decided: Any) -> dict[str, Any]:
    swipe = {"swipe_id": swipe_id, "id_number": TRAVELLER, "at": CHECK_AT, "site": SITE, "mode": "road"}
    return {"checkpoint": CHECKPOINT, "swipes": [{**swipe, **decided}]}


def recorded_swipes(app: App) -> list[Row[Any]]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(checkpoint_swipes)))


# --- 1, 2: the command line -------------------------------------------------------------------------


def test_cli_single_check_is_recorded_and_audited_once_as_the_operator(scene: Scene) -> None:
    before = ledger(scene.app)

    answer = cli_check(scene)

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row)
    assert row.person_id is not None
    assert entry.actor.startswith("cli:") and entry.actor_role == "operator", entry
    assert answer["id"] == masked(TRAVELLER)
    assert_full_view(answer)  # the operator is no officer: the place is there


def test_cli_batch_check_is_recorded_and_audited_once_as_the_operator(scene: Scene, tmp_path: Path) -> None:
    batch = write_csv(
        tmp_path / "batch.csv",
        ["id_number", "at", "site", "mode", "smartphone", "companions"],
        [(TRAVELLER, CHECK_AT, SITE, "road", "true", "")],
    )
    before = ledger(scene.app)

    (line,) = run_cli(scene, "check", "--batch", str(batch))

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row)
    assert entry.actor.startswith("cli:") and entry.actor_role == "operator", entry
    assert line["row"] == 2 and "error" not in line, line
    assert_full_view(line)


def test_cli_codes_only_batch_is_recorded_and_audited_once_with_the_codes_of_the_full_view(
    scene: Scene, tmp_path: Path
) -> None:
    """``check --batch --codes-only``: the same pipeline (one row, one audit entry), the same
    decision and codes as the full view, and no text rendered."""
    full = preview(scene.app, check_request())
    batch = write_csv(
        tmp_path / "batch.csv",
        ["id_number", "at", "site", "mode", "smartphone", "companions"],
        [(TRAVELLER, CHECK_AT, SITE, "road", "true", "")],
    )
    before = ledger(scene.app)

    (line,) = run_cli(scene, "check", "--batch", str(batch), "--codes-only")

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row)
    assert entry.actor.startswith("cli:") and entry.actor_role == "operator", entry
    assert (line["row"], line["decision"], line["id"]) == (2, "refuse", masked(TRAVELLER)), line
    for key in REASON_LISTS:
        assert line[key] == codes(full[key]), (key, line, full)
    assert "TRAVEL_CASE_COUNTY" in line["status_reasons"], line
    assert line["popup"] == "POPUP_TRAVEL_CASE_COUNTY" and line["color"] == "yellow", line
    assert "explanation" not in line, line


def test_the_officer_brief_leaves_out_the_codes_of_the_trip(scene: Scene) -> None:
    """The brief answer (codes only) keeps what the officer's view promises: no reason naming a
    place, the same codes as the officer's full view."""
    decided = decide(scene.app, check_request())
    officer_view, officer_brief = decided.view(Role.OFFICER), decided.brief(Role.OFFICER)

    assert_officer_view(officer_view)
    for key in REASON_LISTS:
        assert officer_brief[key] == codes(officer_view[key]), (key, officer_brief, officer_view)
    assert "TRAVEL_CASE_COUNTY" not in officer_brief["status_reasons"], officer_brief
    assert "TRAVEL_CASE_COUNTY" in decided.brief(None)["status_reasons"]
    assert leaks(json.dumps(officer_brief, ensure_ascii=False)) == [], officer_brief


def check_request() -> CheckRequest:
    return CheckRequest(TRAVELLER, at(CHECK_AT), SITE, Mode.ROAD)


def test_the_officer_view_is_the_operator_view_without_the_trip(scene: Scene) -> None:
    """The same check at the command line (full view) and by an officer over HTTP: one decision,
    the same reasons but for those naming the place."""
    full = cli_check(scene)
    with api(scene) as client:
        officer = http_check(client, officer_headers(client))

    assert_full_view(full)
    assert_officer_view(officer)
    assert officer["decision"] == full["decision"]
    assert officer["popup"] == full["popup"] and officer["color"] == full["color"]
    for key in REASON_LISTS:
        kept = [r for r in full[key] if not PLACE_PARAMS & set(r["params"])]
        assert officer[key] == kept, key
    assert "TRAVEL_CASE_COUNTY" in codes(full["status_reasons"])
    assert "TRAVEL_CASE_COUNTY" not in codes(officer["status_reasons"])
    after = ledger(scene.app)
    assert (len(after.checks), len(after.audited)) == (2, 2)
    assert sorted(e.actor_role for e in after.audited) == ["officer", "operator"]


# --- 3, 4: an officer at the server -------------------------------------------------------------------


def test_http_check_by_an_officer_is_recorded_and_audited_once(scene: Scene) -> None:
    before = ledger(scene.app)
    with api(scene) as client:
        answer = http_check(client, officer_headers(client))

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row)
    assert row.person_id is not None
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert answer["id"] == masked(TRAVELLER)
    assert_officer_view(answer)


def test_console_check_by_an_officer_is_recorded_and_audited_once(scene: Scene) -> None:
    before = ledger(scene.app)
    with api(scene) as client:
        console_sign_in(client)
        response = client.post("/checkpoint", data={"q": TRAVELLER, "site": SITE, "mode": "road"})
        assert response.status_code == 200, response.text
        html = response.text

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row)  # the console checks "now": the fixed clock, CHECK_AT
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert TRAVELLER not in html and masked(TRAVELLER) in html
    assert_console_verdict(html)


# --- 5: a signed code ---------------------------------------------------------------------------------


def test_verified_code_is_recorded_and_audited_once_without_a_person(scene: Scene) -> None:
    code = a_code(scene)
    before = ledger(scene.app)
    with api(scene) as client:
        response = client.post(
            "/v1/codes/verify",
            json={"code": code, "at": CHECK_AT, "site": SITE, "mode": "road"},
            headers=officer_headers(client),
        )
        assert response.status_code == 200, response.text
        answer = response.json()

    row, entry = one_new(before, ledger(scene.app))
    assert row.person_id is None and entry.person_id is None, "the code names no person"
    assert_refused_for_the_trip(row)
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert answer["valid"] is True, answer
    assert leaks(response.text) == []
    assert_officer_view(answer)


def test_scanned_code_on_the_console_is_recorded_and_audited_once(scene: Scene) -> None:
    code = a_code(scene)
    before = ledger(scene.app)
    with api(scene) as client:
        console_sign_in(client)
        response = client.post("/checkpoint", data={"q": code, "site": SITE, "mode": "road"})
        assert response.status_code == 200, response.text
        html = response.text

    row, entry = one_new(before, ledger(scene.app))
    assert row.person_id is None and entry.person_id is None, "the code names no person"
    assert_refused_for_the_trip(row)
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert 'id="code-validity" data-valid="true"' in html
    assert_console_verdict(html)


# --- 6, 7: checkpoint uploads -------------------------------------------------------------------------


def test_checkpoint_upload_decided_here_counts_once_however_often_sent(scene: Scene) -> None:
    swipe_id = str(uuid.uuid4())
    before = ledger(scene.app)
    with api(scene) as client:
        headers = officer_headers(client)
        first = client.post("/v1/checkpoint/swipes", json=swipes_body(swipe_id), headers=headers)
        again = client.post("/v1/checkpoint/swipes", json=swipes_body(swipe_id), headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row)
    assert row.person_id is not None
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert_from_checkpoint(entry, offline=False)
    assert [(s.swipe_id, s.check_id, s.offline) for s in recorded_swipes(scene.app)] == [
        (swipe_id, row.id, False)
    ]
    (result,) = first.json()["results"]
    assert (result["swipe_id"], result["duplicate"], result["decision"]) == (swipe_id, False, "refuse")
    assert leaks(first.text) == [] and leaks(again.text) == []
    assert_officer_view(result["answer"])
    (repeated,) = again.json()["results"]
    assert (repeated["duplicate"], repeated["decision"]) == (True, "refuse"), repeated


def test_offline_decision_uploaded_later_counts_once_however_often_sent(scene: Scene) -> None:
    swipe_id = str(uuid.uuid4())
    decided = {
        "decision": "refuse",
        "policy_version": POLICY,
        "reasons": ["OFFLINE_DECISION", "REFUSE_RISK_TRAVEL", "TRAVEL_CASE_COUNTY"],
    }
    before = ledger(scene.app)
    with api(scene) as client:
        headers = officer_headers(client)
        first = client.post("/v1/checkpoint/swipes", json=swipes_body(swipe_id, **decided), headers=headers)
        again = client.post("/v1/checkpoint/swipes", json=swipes_body(swipe_id, **decided), headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)

    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row, offline=True)  # recorded as the checkpoint decided it
    assert row.person_id is not None
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert_from_checkpoint(entry, offline=True)
    assert [(s.swipe_id, s.check_id, s.offline) for s in recorded_swipes(scene.app)] == [
        (swipe_id, row.id, True)
    ]
    (result,) = first.json()["results"]
    assert (result["duplicate"], result["decision"]) == (False, "refuse"), result
    (repeated,) = again.json()["results"]
    assert (repeated["duplicate"], repeated["decision"]) == (True, "refuse"), repeated
    assert leaks(first.text) == [] and leaks(again.text) == []


# --- 8: the offline checkpoint client -----------------------------------------------------------------


@contextmanager
def serving(scene: Scene, port: int) -> Iterator[None]:
    """The HTTP app on 127.0.0.1:``port`` (uvicorn on a thread) until the block ends; then the port
    is closed again, as when the central service is down."""
    config = uvicorn.Config(
        create_app(application=scene.app),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="central-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), f"the service did not start on port {port}"
        assert time.monotonic() < deadline, f"the service did not start on port {port} within 20 s"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "the service did not stop"


def test_offline_checkpoint_client_answers_as_an_officer_and_counts_once_when_sent(
    scene: Scene, tmp_path: Path
) -> None:
    port = free_port()
    client = Checkpoint(
        tmp_path / "checkpoint" / "outbox.db",
        f"http://127.0.0.1:{port}",
        CHECKPOINT,
        scene.app.policies,
        scene.app.catalog,
        timeout=2.0,
        username=OFFICER,
        password=PASSWORD,
    )
    try:
        with serving(scene, port):
            synced = client.sync(at(SNAPSHOT_AT))
        assert synced["people"] == 1, synced
        before = ledger(scene.app)

        # the service is gone (nothing listens on the port): the checkpoint decides from its snapshot
        answer = client.swipe(TRAVELLER, NOW, SITE, Mode.ROAD)

        assert answer["offline"] is True and answer["snapshot"]["usable"] is True, answer
        assert answer["reasons"][0]["code"] == "OFFLINE_DECISION", answer
        assert answer["id"] == masked(TRAVELLER)
        assert_officer_view(answer)
        assert client.pending() == 1
        assert ledger(scene.app) == before, "nothing reaches the service while it is down"

        with serving(scene, port):
            sent = client.send()
            assert client.pending() == 0
            assert client.send() == {}, "nothing left to send"
    finally:
        client.close()

    assert [(r["swipe_id"], r["duplicate"], r["decision"]) for r in sent.values()] == [
        (answer["swipe_id"], False, "refuse")
    ]
    assert leaks(json.dumps(sent, ensure_ascii=False)) == []
    row, entry = one_new(before, ledger(scene.app))
    assert_refused_for_the_trip(row, offline=True)
    assert row.person_id is not None
    assert (entry.actor, entry.actor_role) == (OFFICER, "officer")
    assert_from_checkpoint(entry, offline=True)
    assert [(s.swipe_id, s.check_id, s.offline) for s in recorded_swipes(scene.app)] == [
        (answer["swipe_id"], row.id, True)
    ]
