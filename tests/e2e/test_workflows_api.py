"""The workflows through the API, as a newcomer would walk them: an application from a
checkpoint to a badge the next day, an appeal from a citizen to an override that changes the
status and the check, the feedback board, who looked at my data, and sessions ending."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commutepass.domain.clock import BEIJING
from commutepass.domain.roles import Role
from tests.e2e.auth import PASSWORD, StaffClient, sign_in, staff_client
from tests.e2e.support import masked, resident_id

pytestmark = pytest.mark.e2e

CITIZEN_ID = resident_id("131082", date(1990, 1, 1), 12)  # 三河: ring area
NAT_HEADER = "id_number,sampled_at,reported_at,result,lab\n"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def client(tmp_path: Path) -> Iterator[StaffClient]:
    with staff_client(tmp_path / "data", CITIZEN_ID) as test_client:
        test_client.sign_in_all()
        yield test_client


def as_(client: StaffClient, role: Role) -> dict[str, str]:
    return client.tokens[role]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def codes(body: dict[str, Any], key: str = "reasons") -> list[str]:
    return [r["code"] for r in body[key]]


def load(client: StaffClient, kind: str, text: str) -> None:
    answer = ok(client.post(f"/v1/loads/{kind}", content=text.encode(), headers={"content-type": "text/csv"}))
    assert answer["rejected"] == 0, answer


def test_an_application_from_the_checkpoint_to_the_badge_next_day(client: StaffClient) -> None:
    officer, reviewer, citizen = (
        as_(client, Role.OFFICER),
        as_(client, Role.REVIEWER),
        as_(client, Role.CITIZEN),
    )
    submitted = ok(
        client.post(
            "/v1/applications",
            json={
                "id_number": CITIZEN_ID,
                "statement": "在京工作，住三河，检查站现场申请",
                "home_county": "131082",
                "work_county": "110105",
            },
            headers=officer,
        ),
        201,
    )
    app_id = submitted["id"]
    assert (submitted["channel"], submitted["status"], submitted["person"]) == (
        "checkpoint",
        "submitted",
        masked(CITIZEN_ID),
    )
    # documents: checked by content, stored by checksum, with a size limit
    doc = ok(
        client.post(
            f"/v1/applications/{app_id}/documents",
            data={"kind": "work_proof"},
            files={"file": ("proof.pdf", PDF, "application/pdf")},
            headers=officer,
        ),
        201,
    )
    assert doc["sha256"] == hashlib.sha256(PDF).hexdigest() and doc["media_type"] == "application/pdf"
    disguised = client.post(
        f"/v1/applications/{app_id}/documents",
        data={"kind": "work_proof"},
        files={"file": ("proof.pdf", b"MZ not a pdf at all", "application/pdf")},
        headers=officer,
    )
    assert disguised.status_code == 422 and disguised.json()["field"] == "file"
    too_big = client.post(
        f"/v1/applications/{app_id}/documents",
        data={"kind": "nat_proof"},
        files={"file": ("big.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf")},
        headers=officer,
    )
    assert too_big.status_code == 422 and "limit" in too_big.json()["detail"]
    bad_kind = client.post(
        f"/v1/applications/{app_id}/documents",
        data={"kind": "selfie"},
        files={"file": ("a.png", PNG, "image/png")},
        headers=officer,
    )
    assert bad_kind.status_code == 422 and bad_kind.json()["field"] == "kind"

    # the reviewer's queue: waiting time and the same-day clock
    queue = ok(client.get("/v1/applications/queue", headers=reviewer))
    assert [q["id"] for q in queue] == [app_id]
    assert queue[0]["waiting_minutes"] >= 0 and isinstance(queue[0]["at_risk"], bool)
    deadline = datetime.fromisoformat(queue[0]["deadline"])
    assert deadline.astimezone(BEIJING).time() == datetime.min.time()
    seen = ok(client.get(f"/v1/applications/{app_id}", headers=reviewer))
    assert [d["sha256"] for d in seen["documents"]] == [doc["sha256"]]
    content = client.get(f"/v1/applications/{app_id}/documents/{doc['sha256']}", headers=reviewer)
    assert content.status_code == 200 and content.content == PDF

    asked = ok(
        client.post(
            f"/v1/applications/{app_id}/decision",
            json={"status": "needs_more", "reason": "缺少居住证明 / proof of residence missing"},
            headers=reviewer,
        )
    )
    assert asked["status"] == "needs_more"
    wrong = client.post(
        f"/v1/applications/{app_id}/decision", json={"status": "approved", "reason": "ok"}, headers=reviewer
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "status"
    # the applicant sees status and reason
    mine = ok(client.get("/v1/applications", headers=citizen))
    assert [(a["id"], a["status"], a["reason"]) for a in mine] == [
        (app_id, "needs_more", "缺少居住证明 / proof of residence missing")
    ]
    ok(
        client.post(
            f"/v1/applications/{app_id}/documents",
            data={"kind": "residence_proof"},
            files={"file": ("home.png", PNG, "image/png")},
            headers=citizen,
        ),
        201,
    )
    again = ok(
        client.post(f"/v1/applications/{app_id}/resubmit", json={"reason": "补充了居住证明"}, headers=citizen)
    )
    assert again["status"] == "submitted"
    # approval needs what the policy names: the ID card and the test are still missing, and both
    # the reviewer and the applicant are told, each item with its remedy
    assert [m["code"] for m in again["missing"]] == ["APP_MISSING_ID_CARD", "APP_MISSING_NAT_PROOF"]
    assert all(m["remedy"]["zh"] and m["remedy"]["en"] for m in again["missing"])
    refused = client.post(
        f"/v1/applications/{app_id}/decision",
        json={"status": "approved", "reason": "材料齐全 / documents complete"},
        headers=reviewer,
    )
    assert refused.status_code == 422 and refused.json()["field"] == "status"
    assert "ID card" in refused.json()["detail"]
    for kind, content in (("id_card", PNG + b"id"), ("nat_proof", PDF + b"% nat")):
        ok(
            client.post(
                f"/v1/applications/{app_id}/documents",
                data={"kind": kind},
                files={"file": (f"{kind}.bin", content, "application/octet-stream")},
                headers=citizen,
            ),
            201,
        )
    assert ok(client.get("/v1/applications", headers=citizen))[0]["missing"] == []
    approved = ok(
        client.post(
            f"/v1/applications/{app_id}/decision",
            json={"status": "approved", "reason": "材料齐全 / documents complete"},
            headers=reviewer,
        )
    )
    assert approved["status"] == "approved"
    assert [(h["from"], h["to"]) for h in approved["history"]] == [
        (None, "submitted"),
        ("submitted", "needs_more"),
        ("needs_more", "submitted"),
        ("submitted", "approved"),
    ]
    effective = datetime.fromisoformat(approved["effective_from"]).astimezone(BEIJING)
    decided_day = datetime.fromisoformat(approved["decided_at"]).astimezone(BEIJING).date()
    assert effective == datetime.combine(decided_day + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING)
    final = client.post(
        f"/v1/applications/{app_id}/decision", json={"status": "rejected", "reason": "x"}, headers=reviewer
    )
    assert final.status_code == 422

    # in the database from 00:00 the next day, with the badge once a NAT is on record
    sampled = datetime.now(BEIJING) - timedelta(hours=3)
    load(
        client,
        "nat",
        NAT_HEADER
        + f"{CITIZEN_ID},{sampled:%Y-%m-%dT%H:%M},{sampled + timedelta(hours=1):%Y-%m-%dT%H:%M},negative,lab\n",
    )
    before = ok(
        client.post(
            "/v1/status",
            json={"id_number": CITIZEN_ID, "at": (effective - timedelta(minutes=1)).isoformat()},
            headers=citizen,
        )
    )
    assert "NOT_IN_COMMUTER_DB" in codes(before) and before["commuter_badge"] is False
    morning = (effective + timedelta(hours=7)).isoformat()
    after = ok(client.post("/v1/status", json={"id_number": CITIZEN_ID, "at": morning}, headers=citizen))
    assert after["commuter_badge"] is True and "IN_COMMUTER_DB" in codes(after)
    assert (
        next(r for r in after["reasons"] if r["code"] == "IN_COMMUTER_DB")["params"]["source"]
        == "application"
    )
    check = ok(
        client.post(
            "/v1/checks",
            json={"id_number": CITIZEN_ID, "at": morning, "site": "燕郊检查站", "mode": "road"},
            headers=officer,
        )
    )
    assert check["decision"] == "allow" and check["commuter_badge"] is True

    # the analyst sees counts, never the person
    stats = client.get("/v1/stats", headers=as_(client, Role.ANALYST))
    assert stats.status_code == 200, stats.text
    body = stats.json()
    # one application and one check: counts of fewer than five people are suppressed (issue 16)
    assert body["min_cell"] == 5
    assert body["applications"] == [{"channel": "checkpoint", "status": "approved", "count": None}]
    assert body["checks_by_decision"] == {"allow": None}
    assert body["totals"]["applications"] is None and body["totals"]["checks"] is None
    assert body["commuters_in_force"] == []  # the entry starts tomorrow
    assert masked(CITIZEN_ID) not in stats.text and CITIZEN_ID[-4:] not in stats.text


def test_an_appeal_from_the_citizen_to_an_override_that_reaches_status_and_check(client: StaffClient) -> None:
    citizen, reviewer, officer = (
        as_(client, Role.CITIZEN),
        as_(client, Role.REVIEWER),
        as_(client, Role.OFFICER),
    )
    now = datetime.now(BEIJING)
    today = now.date()
    load(client, "risk", f"county,level,start,end\n130821,case,{today - timedelta(days=3)},\n")
    load(client, "itinerary", f"id_number,date,county\n{CITIZEN_ID},{today - timedelta(days=1)},130821\n")
    sampled = now - timedelta(hours=5)
    load(
        client,
        "nat",
        NAT_HEADER
        + f"{CITIZEN_ID},{sampled:%Y-%m-%dT%H:%M},{sampled + timedelta(hours=2):%Y-%m-%dT%H:%M},negative,lab\n",
    )
    at = now.isoformat()
    refused = ok(
        client.post(
            "/v1/checks",
            json={"id_number": CITIZEN_ID, "at": at, "site": "承德南站", "mode": "rail"},
            headers=officer,
        )
    )
    assert refused["decision"] == "refuse" and refused["popup"]["code"] == "POPUP_TRAVEL_CASE_COUNTY"

    filed = ok(
        client.post(
            "/v1/appeals",
            json={"id_number": CITIZEN_ID, "kind": "popup", "statement": "我从未去过承德县，行程数据有误"},
            headers=citizen,
        ),
        201,
    )
    assert (filed["status"], filed["target_hours"], filed["kind"]) == ("open", 8.0, "popup")
    queue = ok(client.get("/v1/appeals/queue", headers=reviewer))
    assert [a["id"] for a in queue] == [filed["id"]] and queue[0]["within_target"] is True
    seen = ok(client.get(f"/v1/appeals/{filed['id']}", headers=reviewer))
    assert seen["automated_decision"]["popup"]["code"] == "POPUP_TRAVEL_CASE_COUNTY"
    assert "TRAVEL_CASE_COUNTY" in codes(seen["automated_decision"])
    assert seen["evidence"]["itinerary"] == [{"day": str(today - timedelta(days=1)), "county": "130821"}]
    assert [r["county"] for r in seen["evidence"]["risk_periods"]] == ["130821"]
    citizen_view = ok(client.get(f"/v1/appeals/{filed['id']}", headers=citizen))
    assert "evidence" not in citizen_view and citizen_view["status"] == "open"

    no_date = client.post(
        f"/v1/appeals/{filed['id']}/decision",
        json={"outcome": "overridden", "reason": "基站数据核实有误"},
        headers=reviewer,
    )
    assert no_date.status_code == 422 and no_date.json()["field"] == "until"
    until = today + timedelta(days=7)
    decided = ok(
        client.post(
            f"/v1/appeals/{filed['id']}/decision",
            json={"outcome": "overridden", "reason": "基站数据核实有误", "until": until.isoformat()},
            headers=reviewer,
        )
    )
    assert decided["status"] == "overridden" and decided["response"] == "基站数据核实有误"
    twice = client.post(
        f"/v1/appeals/{filed['id']}/decision", json={"outcome": "rejected", "reason": "x"}, headers=reviewer
    )
    assert twice.status_code == 422

    later = (now + timedelta(minutes=1)).isoformat()
    status = ok(client.post("/v1/status", json={"id_number": CITIZEN_ID, "at": later}, headers=citizen))
    assert status["popup"] is None and status["color"] == "green"
    assert codes(status)[0] == "OVERRIDE_POPUP" and "TRAVEL_CASE_COUNTY" not in codes(status)
    check = ok(
        client.post(
            "/v1/checks",
            json={"id_number": CITIZEN_ID, "at": later, "site": "承德南站", "mode": "rail"},
            headers=officer,
        )
    )
    assert check["decision"] == "allow" and check["popup"] is None
    # after the end date the data decides again
    after_end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING)
    expired = ok(
        client.post(
            "/v1/status", json={"id_number": CITIZEN_ID, "at": after_end.isoformat()}, headers=citizen
        )
    )
    assert "OVERRIDE_POPUP" not in codes(expired)

    # the reviewer, who works the cases, sees every figure; an analyst sees one answered appeal
    # suppressed (fewer than k = 5: issue 16 item 6), zeros and targets as they are
    times = {t["kind"]: t for t in ok(client.get("/v1/appeals/response-times", headers=reviewer))}
    assert (times["popup"]["answered"], times["popup"]["answered_within_target"], times["popup"]["open"]) == (
        1,
        1,
        0,
    )
    assert times["color"]["target_hours"] == 6.0 and times["color"]["answered"] == 0
    analysed = {
        t["kind"]: t for t in ok(client.get("/v1/appeals/response-times", headers=as_(client, Role.ANALYST)))
    }
    assert (analysed["popup"]["answered"], analysed["popup"]["median_hours"], analysed["popup"]["open"]) == (
        None,
        None,
        0,
    )
    assert analysed["color"]["target_hours"] == 6.0 and analysed["color"]["answered"] == 0

    # the citizen sees who looked at their data, when and why
    # checks reach the log within the swipe writer's flush time (half a second)
    deadline = time.monotonic() + 10
    while True:
        accesses = ok(client.get("/v1/me/accesses", headers=citizen))
        seen_by = {(a["who"], a["action"]) for a in accesses}
        if ("test-officer", "check") in seen_by or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {
        ("test-reviewer", "appeal.read"),
        ("test-reviewer", "appeal.decide"),
        ("test-officer", "check"),
    } <= seen_by
    assert ok(client.get("/v1/audit/verify", headers=as_(client, Role.ADMIN)))["ok"] is True


def test_who_may_look_at_whom(client: StaffClient) -> None:
    citizen, hotline = as_(client, Role.CITIZEN), as_(client, Role.HOTLINE)
    stranger = resident_id("120114", date(1985, 5, 5), 33)
    other = client.post("/v1/status", json={"id_number": stranger}, headers=citizen)
    assert other.status_code == 403 and other.json()["detail_zh"]
    no_reason = client.post("/v1/status", json={"id_number": CITIZEN_ID}, headers=hotline)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    ok(
        client.post(
            "/v1/status", json={"id_number": CITIZEN_ID, "reason": "12345 来电咨询通勤标识"}, headers=hotline
        )
    )
    accesses = ok(client.get("/v1/me/accesses", headers=citizen))
    assert ("test-hotline", "status.lookup", "12345 来电咨询通勤标识") in {
        (a["who"], a["action"], a["reason"]) for a in accesses
    }
    # family: up to four, then a clear refusal; a family member's status is then visible
    family = [resident_id("131082", date(2015 + i, 2, 2), 40 + i) for i in range(5)]
    for member in family[:4]:
        ok(client.post("/v1/me/family", json={"id_number": member}, headers=citizen), 201)
    fifth = client.post("/v1/me/family", json={"id_number": family[4]}, headers=citizen)
    assert fifth.status_code == 422 and "4" in fifth.json()["detail"]
    ok(client.post("/v1/status", json={"id_number": family[0]}, headers=citizen))
    me = ok(client.get("/v1/me", headers=citizen))
    assert me["id"] == masked(CITIZEN_ID) and me["family"] == [masked(m) for m in family[:4]]


def test_the_board_never_shows_one_citizen_to_another(client: StaffClient) -> None:
    admin = as_(client, Role.ADMIN)
    ok(
        client.post(
            "/v1/users",
            json={
                "username": "citizen-two",
                "password": PASSWORD,
                "role": "citizen",
                "id_number": resident_id("120114", date(1980, 1, 1), 5),
            },
            headers=admin,
        ),
        201,
    )
    second = sign_in(client, "citizen-two")
    client.cookies.clear()
    text = f"我的身份证 {CITIZEN_ID}，电话 13912345678，通勤标识为何消失？"
    post = ok(client.post("/v1/feedback", json={"body": text}, headers=as_(client, Role.CITIZEN)), 201)
    ok(
        client.post(
            f"/v1/feedback/{post['id']}/replies",
            json={"body": "请核对核酸报告日期。"},
            headers=as_(client, Role.HOTLINE),
        ),
        201,
    )
    staff_reply_only = client.post("/v1/feedback", json={"body": "hi"}, headers=as_(client, Role.HOTLINE))
    assert staff_reply_only.status_code == 403
    theirs = ok(client.get("/v1/feedback", headers=second))
    assert theirs[0]["author"] == f"市民 / citizen #{post['id']}"
    assert CITIZEN_ID not in theirs[0]["body"] and "13912345678" not in theirs[0]["body"]
    # not even the masked forms: they still show the home county and four digits
    assert masked(CITIZEN_ID) not in theirs[0]["body"] and "5678" not in theirs[0]["body"]
    assert "［证件号码已隐去 / ID number removed］" in theirs[0]["body"]
    assert theirs[0]["replies"][0]["by"] == "12345 热线 / 12345 hotline"
    own = ok(client.get("/v1/feedback", headers=as_(client, Role.CITIZEN)))
    # the author sees the phone number; an ID number is masked even for them (never stored raw)
    assert own[0]["body"] == text.replace(CITIZEN_ID, masked(CITIZEN_ID)) and own[0]["author"] == "您 / you"


def test_sessions_cookie_logout_and_disabled_users(client: StaffClient) -> None:
    signed = client.post("/v1/auth/token", data={"username": "test-analyst", "password": PASSWORD})
    assert signed.status_code == 200 and "httponly" in signed.headers["set-cookie"].lower()
    assert ok(client.get("/v1/me"))["role"] == "analyst"  # the cookie alone signs the request
    assert client.post("/v1/auth/logout").status_code == 204
    client.cookies.clear()
    token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert client.get("/v1/me", headers=token).status_code == 401
    wrong = client.post("/v1/auth/token", data={"username": "test-analyst", "password": "not it at all"})
    assert wrong.status_code == 401 and wrong.json()["detail_zh"]
    officer = as_(client, Role.OFFICER)
    assert client.get("/v1/me", headers=officer).status_code == 200
    ok(client.post("/v1/users/test-officer/disable", headers=as_(client, Role.ADMIN)))
    assert client.get("/v1/me", headers=officer).status_code == 401
    again = client.post("/v1/auth/token", data={"username": "test-officer", "password": PASSWORD})
    assert again.status_code == 401
