"""Applications that check (issue 13, item 5): approval requires what the policy names, the
missing items are listed for the reviewer and the applicant, the community worker (社区工作人员)
submits for residents and sees only its own submissions, and a reverse commuter is enrolled with
the ring-area end of the commute. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from commutepass.accounts import service as auth
from commutepass.applications import service as applications
from commutepass.commuters.service import list_commuters
from commutepass.domain.errors import Forbidden, InputError
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppState
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from tests.helpers import make_id

DOCS = ("id_card", "work_proof", "residence_proof", "nat_proof")


def _users(app: App, citizen_id: str) -> dict[str, User]:
    made = {
        "reviewer": Role.REVIEWER,
        "community-a": Role.COMMUNITY,
        "community-b": Role.COMMUNITY,
        "officer": Role.OFFICER,
        "citizen": Role.CITIZEN,
    }
    for name, role in made.items():
        auth.add_user(
            app, name, "long enough passphrase", role, id_number=citizen_id if role is Role.CITIZEN else None
        )
    return {name: auth.sign_in(app, name, "long enough passphrase").user for name in made}


def test_a_community_worker_submits_for_residents_and_sees_only_its_own(app: App) -> None:
    resident = make_id("131082", date(1980, 4, 4), 501)
    other = make_id("120114", date(1985, 5, 5), 502)
    citizen_id = make_id("131082", date(1990, 1, 1), 503)
    users = _users(app, citizen_id)
    mine = applications.submit(
        app,
        users["community-a"],
        resident,
        statement="居民住三河、在朝阳上班，未被大数据识别，社区代为申请",
        home_county="131082",
        work_county="110105",
    )
    assert mine["channel"] == "community" and mine["status"] == "submitted"
    theirs = applications.submit(
        app,
        users["community-b"],
        other,
        statement="另一个社区的申请",
        home_county="120114",
        work_county="110106",
    )
    assert [a["id"] for a in applications.mine(app, users["community-a"])] == [mine["id"]]
    assert [a["id"] for a in applications.mine(app, users["community-b"])] == [theirs["id"]]
    with pytest.raises(Forbidden):
        applications.get(app, users["community-a"], theirs["id"])
    with pytest.raises(Forbidden):
        applications.add_document(app, users["community-a"], theirs["id"], "work_proof", b"%PDF-1.4 x")
    # the reviewer's queue names the channel
    assert {(q["id"], q["channel"]) for q in applications.queue(app)} == {
        (mine["id"], "community"),
        (theirs["id"], "community"),
    }


def test_approval_is_refused_until_nothing_is_missing_and_both_sides_are_told(app: App) -> None:
    resident = make_id("131082", date(1980, 4, 4), 511)
    users = _users(app, make_id("131082", date(1990, 1, 1), 512))
    filed = applications.submit(
        app, users["community-a"], resident, statement="社区代为申请", home_county="131082"
    )
    assert [m["code"] for m in filed["missing"]] == [
        "APP_MISSING_WORK_COUNTY",
        "APP_MISSING_ID_CARD",
        "APP_MISSING_WORK_PROOF",
        "APP_MISSING_RESIDENCE_PROOF",
        "APP_MISSING_NAT_PROOF",
    ]
    applications.add_document(app, users["community-a"], filed["id"], "work_proof", b"%PDF-1.4 work")
    with pytest.raises(InputError) as refused:
        applications.decide(app, users["reviewer"], filed["id"], AppState.APPROVED, "looks fine")
    assert refused.value.field == "status"
    assert (
        "work county" in refused.value.en and "ID card" in refused.value.en and "身份证" in refused.value.zh
    )
    # nothing was half-written: still waiting, nobody enrolled
    seen = applications.get(app, users["reviewer"], filed["id"])
    assert seen["status"] == "submitted" and [h["to"] for h in seen["history"]] == ["submitted"]
    assert list_commuters(app, app.now() + timedelta(days=2)) == []
    # the applicant's side (the community worker who submitted it) sees the same list
    waiting = applications.mine(app, users["community-a"])[0]
    assert [m["code"] for m in waiting["missing"]] == [
        "APP_MISSING_WORK_COUNTY",
        "APP_MISSING_ID_CARD",
        "APP_MISSING_RESIDENCE_PROOF",
        "APP_MISSING_NAT_PROOF",
    ]
    # the reviewer asks for more; the community adds it and resubmits; now it can be approved
    applications.decide(app, users["reviewer"], filed["id"], AppState.NEEDS_MORE, "请补充工作地和材料")
    for kind in DOCS:
        applications.add_document(app, users["community-a"], filed["id"], kind, b"%PDF-1.4 " + kind.encode())
    still = applications.get(app, users["community-a"], filed["id"])
    assert [m["code"] for m in still["missing"]] == ["APP_MISSING_WORK_COUNTY"]
    assert "工作地" in still["missing"][0]["remedy"]["zh"]


def test_a_reverse_commuter_is_enrolled_with_the_ring_area_end(app: App) -> None:
    """Home in Beijing, work in Tianjin: identification accepts them, and so does an application;
    the database entry names the ring-area county (the work end)."""
    resident = make_id("110105", date(1982, 8, 8), 521)
    users = _users(app, make_id("131082", date(1990, 1, 1), 522))
    filed = applications.submit(
        app,
        users["officer"],
        resident,
        statement="住朝阳，在武清上班",
        home_county="110105",
        work_county="120114",
    )
    for kind in DOCS:
        applications.add_document(app, users["officer"], filed["id"], kind, b"%PDF-1.4 " + kind.encode())
    assert applications.get(app, users["officer"], filed["id"])["missing"] == []
    approved = applications.decide(app, users["reviewer"], filed["id"], AppState.APPROVED, "材料齐全")
    assert approved["status"] == "approved" and approved["missing"] == []
    entries = list_commuters(app, app.now() + timedelta(days=2))
    assert [(e["home_county"], e["source"]) for e in entries] == [("120114", "application")]


def test_an_unknown_county_is_refused_at_submission_with_its_field(app: App) -> None:
    users = _users(app, make_id("131082", date(1990, 1, 1), 531))
    with pytest.raises(InputError) as bad:
        applications.submit(
            app,
            users["community-a"],
            make_id("131082", date(1980, 4, 4), 532),
            statement="x",
            home_county="131082",
            work_county="999999",
        )
    assert bad.value.field == "work_county"
