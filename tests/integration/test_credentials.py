"""Signed codes and offline snapshots against the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from commutepass.checkpoints import service as checkpoints
from commutepass.checkpoints.snapshot import OfflineSnapshot
from commutepass.checks.service import CheckRequest, preview
from commutepass.commuters.service import add_commuter
from commutepass.credentials import service
from commutepass.credentials.codes import Verifier, credential_hash
from commutepass.credentials.trust import load_anchor
from commutepass.domain.clock import to_utc
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Source
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import Decision
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User, cli_user
from commutepass.loads.service import COLUMNS, load_file
from commutepass.policies import builtin_policies
from commutepass.store.tables import audit_log, checkpoint_swipes, checks
from tests.helpers import at, make_id, masked, write_csv

TIANJIN = make_id("120101", date(1990, 3, 7), 11)  # lives in Tianjin, negative NAT, not a commuter
COMMUTER = make_id("131082", date(1985, 6, 1), 12)  # in the database, 14-day NAT, entered before
POSITIVE = make_id("130602", date(1977, 1, 1), 13)
STALE = make_id("131022", date(1992, 2, 2), 14)  # NAT too old for entry
NOBODY = make_id("130681", date(2000, 5, 5), 15)  # nowhere in the store
PEOPLE = (TIANJIN, COMMUTER, POSITIVE, STALE, NOBODY)
GATE = User(0, "gate-1", Role.OFFICER, None)
REVIEWER = audit.Actor("rev-1", "reviewer")


@pytest.fixture
def scene(app: App, tmp_path: Path) -> App:
    add_commuter(app, COMMUTER, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    nats = [
        (TIANJIN, "2021-11-28T08:00", "2021-11-28T20:00", "negative", "天津一中心"),
        (COMMUTER, "2021-11-22T08:00", "2021-11-22T20:00", "negative", "三河市医院"),
        (POSITIVE, "2021-11-27T08:00", "2021-11-27T20:00", "positive", "保定市医院"),
        (STALE, "2021-11-20T08:00", "2021-11-20T20:00", "negative", "固安县医院"),
    ]
    load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nats))
    travel = [(COMMUTER, "2021-11-25T07:10", "enter", "road", "燕郊检查站", "131082")]
    load_file(app, "travel", write_csv(tmp_path / "travel.csv", COLUMNS["travel"], travel))
    return app


def _published_verifier(app: App, tmp_path: Path) -> Verifier:
    """Another region's verifier: the three published files, written out and read back."""
    files = {
        "trust.json": service.trust_document(app),
        "revocations.json": service.revocation_document(app),
    }
    for name, document in files.items():
        (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "anchor.pem").write_text(service.anchor_pem(app), encoding="utf-8")
    return service.verifier(
        service.read_json_file(tmp_path / "trust.json", "trust"),
        service.read_json_file(tmp_path / "revocations.json", "revocations"),
        (tmp_path / "anchor.pem").read_bytes(),
    )


def test_tianjin_code_is_decided_at_a_beijing_checkpoint_from_the_published_lists(
    scene: App, tmp_path: Path
) -> None:
    issued = service.issue(scene, cli_user(), TIANJIN, at("2021-11-29T06:30"), "TJ")
    checker = _published_verifier(scene, tmp_path)
    answer, _swipe = service.verify(
        checker, builtin_policies(), issued["code"], at("2021-11-29T07:30"), site="白庙检查站"
    )
    assert answer["valid"] is True
    assert (answer["decision"], answer["id"], answer["policy_version"]) == (
        "allow",
        masked(TIANJIN),
        "2021-11-17",
    )
    assert answer["credential"]["region"] == "TJ" and answer["credential"]["hash"] == issued["hash"]
    assert answer["nat_valid_until"].startswith("2021-11-30T08:00")
    # the same as the core's check of the same person at the same time
    core = preview(scene, CheckRequest(TIANJIN, at("2021-11-29T07:30"), "白庙检查站", Mode.ROAD))
    assert core["decision"] == answer["decision"]


def test_positive_and_stale_codes_are_refused_with_the_reason(scene: App) -> None:
    checker = service.local_verifier(scene)
    for number, reason in ((POSITIVE, "REFUSE_POSITIVE"), (STALE, "CARRIED_NAT_MISSING")):
        code = service.issue(scene, cli_user(), number, at("2021-11-29T06:30"), "HE")["code"]
        answer, _swipe = service.verify(checker, scene.policies, code, at("2021-11-29T07:00"))
        assert (answer["valid"], answer["decision"]) == (True, "refuse")
        assert [r["code"] for r in answer["reasons"]] == [reason]


def test_revoked_code_is_refused_with_its_reason_and_remedy(scene: App) -> None:
    code = service.issue(scene, cli_user(), TIANJIN, at("2021-11-29T06:30"), "TJ")["code"]
    assert service.revoke(scene, code, f"lost phone of {TIANJIN}", actor=REVIEWER) == {
        "hash": credential_hash(code),
        "revoked": True,
        "already": False,
    }
    assert service.revoke(scene, credential_hash(code), actor=cli_user().actor)["already"] is True
    with scene.engine.connect() as conn:
        logged = conn.execute(
            select(audit_log.c.actor, audit_log.c.reason).where(audit_log.c.action == "code.revoke")
        ).all()
    # who revoked and why, with the ID number in the reason masked like every free text kept
    assert [tuple(row) for row in logged] == [
        ("rev-1", f"lost phone of {masked(TIANJIN)}"),
        (cli_user().username, ""),
    ]
    answer, swipe = service.verify(
        service.local_verifier(scene), scene.policies, code, at("2021-11-29T07:00")
    )
    assert swipe is None  # a refused code is no check: nothing to record
    assert (answer["valid"], answer["decision"]) == (False, "refuse")
    assert answer["reason"]["code"] == "CREDENTIAL_REVOKED"
    assert answer["reason"]["remedy"]["zh"] and answer["explanation"]["en"].startswith(
        "Decision: entry refused"
    )


def _offline(app: App, as_of: str) -> OfflineSnapshot:
    built = checkpoints.build_snapshot(app, at(as_of))
    return OfflineSnapshot.load(
        base64.b64decode(built["snapshot"]),
        base64.b64decode(built["key"]),
        load_anchor(service.anchor_pem(app)),
        app.catalog,
    )


@pytest.mark.parametrize("mode", [Mode.ROAD, Mode.RAIL])
def test_offline_decisions_equal_the_services_at_the_snapshot_time(scene: App, mode: Mode) -> None:
    snapshot = _offline(scene, "2021-11-29T06:00")
    assert len(snapshot) == 4  # everyone with a NAT or in the database; NOBODY is not
    policy = scene.policies.in_force(at("2021-11-29T07:00"))
    for number in PEOPLE:
        moment = at("2021-11-29T07:00")
        offline = snapshot.decide(parse_resident_id(number), policy, to_utc(moment), scene.catalog, mode=mode)
        online = preview(scene, CheckRequest(number, moment, "白庙检查站", mode))
        assert offline.usable
        assert offline.outcome.decision.value == online["decision"], number
        assert [r.code for r in offline.outcome.reasons][1:] == [r["code"] for r in online["reasons"]]
        assert offline.outcome.reasons[0].code == "OFFLINE_DECISION"


def test_a_snapshot_older_than_the_policy_allows_is_not_used(scene: App) -> None:
    snapshot = _offline(scene, "2021-11-28T06:00")
    policy = scene.policies.in_force(at("2021-11-29T07:00"))
    answer = snapshot.decide(
        parse_resident_id(TIANJIN), policy, to_utc(at("2021-11-29T07:00")), scene.catalog, mode=Mode.ROAD
    )
    assert not answer.usable and answer.age == timedelta(hours=25)
    assert answer.outcome.decision.value == "documents"
    assert [r.code for r in answer.outcome.reasons] == ["SNAPSHOT_TOO_OLD"]


def test_a_swipe_sent_twice_is_recorded_once(scene: App) -> None:
    swipe = checkpoints.CheckpointSwipe(
        swipe_id=str(uuid.uuid4()),
        request=CheckRequest(TIANJIN, at("2021-11-29T07:00"), "白庙检查站", Mode.ROAD),
    )
    offline = checkpoints.CheckpointSwipe(
        swipe_id=str(uuid.uuid4()),
        request=CheckRequest(NOBODY, at("2021-11-29T07:01"), "白庙检查站", Mode.ROAD),
        decision=Decision.REFUSE,
        policy_version="2021-11-17",
        reasons=("OFFLINE_DECISION", "NAT_ENTRY_MISSING"),
    )
    first = checkpoints.receive_all(scene, "白庙", [swipe, offline], GATE)
    again = checkpoints.receive_all(scene, "白庙", [swipe, offline], GATE)
    assert [r["duplicate"] for r in first] == [False, False]
    assert first[0]["answer"]["decision"] == "allow"
    assert [(r["duplicate"], r["decision"]) for r in again] == [(True, "allow"), (True, "refuse")]
    with scene.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(checks)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(checkpoint_swipes)).scalar_one() == 2
        reasons = conn.execute(select(checks.c.reasons).order_by(checks.c.id)).scalars().all()
        audited = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(audit_log.c.action == "check")
        ).all()
    assert json.loads(reasons[1]) == ["OFFLINE_DECISION", "NAT_ENTRY_MISSING"]  # marked once
    # each swipe audited once, as the officer's check, however often it was sent
    assert [(actor, json.loads(detail)["offline"]) for actor, detail in audited] == [
        ("gate-1", False),
        ("gate-1", True),
    ]
