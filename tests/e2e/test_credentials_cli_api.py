"""Signed codes end to end: the real command line, and the API in process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from commutepass.app import create_app
from commutepass.domain.roles import Role
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, StaffClient, make_users, staff_client
from tests.e2e.support import Call, free_port, masked, resident_id, run_cli, run_many, write_csv

pytestmark = pytest.mark.e2e

TIANJIN = resident_id("120101", date(1990, 3, 7), 31)
CITIZEN = resident_id("131082", date(1985, 6, 1), 32)  # the signed-in citizen
NAT_HEADER = ("id_number", "sampled_at", "reported_at", "result", "lab")


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A Tianjin resident's code issued by TJ, and the published lists, each from the real CLI."""
    root = tmp_path_factory.mktemp("codes")
    data = root / "tianjin"
    nat = write_csv(
        root / "nat.csv",
        NAT_HEADER,
        [(TIANJIN, "2021-11-28T08:00", "2021-11-28T20:00", "negative", "天津一中心")],
    )
    run_cli(data, "load", "nat", str(nat))
    issue = run_cli(
        data,
        "codes",
        "issue",
        TIANJIN,
        "--at",
        "2021-11-29T06:30",
        "--region",
        "TJ",
        "--png",
        str(root / "code.png"),
        "--svg",
        str(root / "code.svg"),
    )
    trust, revocations, anchor = run_many(
        [
            Call(data, ("trust", "export")),
            Call(data, ("trust", "revocations")),
            Call(data, ("trust", "anchor")),
        ]
    )
    for name, result in (("trust.json", trust), ("revocations.json", revocations), ("anchor.pem", anchor)):
        (root / name).write_text(result.stdout, encoding="utf-8")
    return {"root": root, "data": data, "issue": issue, "code": issue.stdout.strip().splitlines()[-1]}


def _verify(issued: dict[str, Any], code: str, when: str, expect: int) -> dict[str, Any]:
    """Verify at a Beijing checkpoint that has nothing of Tianjin's but the published files."""
    root: Path = issued["root"]
    result = run_cli(
        root / "beijing",
        "codes",
        "verify",
        code,
        "--at",
        when,
        "--site",
        "白庙检查站",
        "--trust",
        str(root / "trust.json"),
        "--revocations",
        str(root / "revocations.json"),
        "--anchor",
        str(root / "anchor.pem"),
        expect=expect,
    )
    line: dict[str, Any] = result.line
    return line


def test_issue_prints_the_code_last_and_writes_png_and_svg(issued: dict[str, Any]) -> None:
    *_info, last = issued["issue"].stdout.strip().splitlines()
    assert last.startswith("JJJ1:") and last == issued["code"]
    assert (issued["root"] / "code.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (issued["root"] / "code.svg").read_text(encoding="utf-8")


def test_trust_export_has_the_documented_shape(issued: dict[str, Any]) -> None:
    import json

    document = json.loads((issued["root"] / "trust.json").read_text(encoding="utf-8"))
    assert {"keys", "signature"} <= document.keys()
    assert {k["region"] for k in document["keys"]} == {"BJ", "TJ", "HE"}
    for key in document["keys"]:
        assert set(key) == {"kid", "region", "public_key_pem", "valid_from", "valid_to"}
        assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_a_tianjin_code_verifies_at_beijing_with_only_the_trust_list(issued: dict[str, Any]) -> None:
    line = _verify(issued, issued["code"], "2021-11-29T07:30", expect=0)
    assert (line["valid"], line["decision"], line["id"]) == (True, "allow", masked(TIANJIN))
    assert line["credential"]["region"] == "TJ" and line["site"] == "白庙检查站"
    assert not (issued["root"] / "beijing" / "credentials").exists(), "the verifier made no keys of its own"


def test_a_changed_expired_or_malformed_code_is_refused_with_its_reason(issued: dict[str, Any]) -> None:
    code: str = issued["code"]
    middle = len(code) // 2
    changed = code[:middle] + ("A" if code[middle] != "A" else "B") + code[middle + 1 :]
    assert _verify(issued, changed, "2021-11-29T07:30", expect=1)["reason"]["code"] == "CREDENTIAL_MALFORMED"
    expired = _verify(issued, code, "2021-11-29T13:10", expect=1)
    assert expired["reason"]["code"] == "CREDENTIAL_EXPIRED" and expired["reason"]["remedy"]["zh"]
    assert (
        _verify(issued, "not a code", "2021-11-29T07:30", expect=1)["reason"]["code"]
        == "CREDENTIAL_MALFORMED"
    )


def test_revoked_code_is_refused_after_the_list_is_published_again(issued: dict[str, Any]) -> None:
    data, root = issued["data"], issued["root"]
    other = (
        run_cli(data, "codes", "issue", TIANJIN, "--at", "2021-11-29T06:40", "--region", "TJ")
        .stdout.strip()
        .splitlines()[-1]
    )
    run_cli(data, "codes", "revoke", other, "--reason", "reported stolen")
    (root / "revocations.json").write_text(run_cli(data, "trust", "revocations").stdout, encoding="utf-8")
    assert _verify(issued, other, "2021-11-29T07:30", expect=1)["reason"]["code"] == "CREDENTIAL_REVOKED"
    assert _verify(issued, issued["code"], "2021-11-29T07:30", expect=0)["valid"] is True


def test_bad_arguments_are_clear_errors(issued: dict[str, Any]) -> None:
    wrong_region = run_cli(issued["data"], "codes", "issue", TIANJIN, "--region", "SH", expect=2).line
    assert wrong_region["error"]["field"] == "region"
    no_anchor = run_cli(
        issued["root"] / "x",
        "codes",
        "verify",
        issued["code"],
        "--trust",
        str(issued["root"] / "trust.json"),
        expect=2,
    ).line
    assert no_anchor["error"]["field"] == "anchor"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[StaffClient]:
    """Requests go as the role each path is for (reviewer issues and revokes, officer verifies)."""
    with staff_client(tmp_path / "api", CITIZEN) as c:
        c.sign_in_all()
        yield c


def test_api_issues_verifies_and_revokes(client: StaffClient) -> None:
    issued = client.post("/v1/codes", json={"id_number": TIANJIN, "at": "2021-11-29T06:30", "region": "HE"})
    assert issued.status_code == 200, issued.text
    code = issued.json()["code"]
    verified = client.post("/v1/codes/verify", json={"code": code, "at": "2021-11-29T07:00", "mode": "rail"})
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert (body["valid"], body["decision"], body["mode"]) == (True, "refuse", "rail")
    assert [r["code"] for r in body["reasons"]] == ["CARRIED_NAT_MISSING"]
    assert client.post("/v1/codes/revocations", json={"code": code}).json()["revoked"] is True
    refused = client.post("/v1/codes/verify", json={"code": code, "at": "2021-11-29T07:00"}).json()
    assert (refused["valid"], refused["reason"]["code"]) == (False, "CREDENTIAL_REVOKED")
    anonymous = {"Authorization": ""}
    trust = client.get("/v1/trust", headers=anonymous).json()
    assert len(trust["keys"]) == 3 and trust["signature"]
    assert client.get("/v1/trust/anchor", headers=anonymous).text.startswith("-----BEGIN PUBLIC KEY-----")
    assert client.get("/v1/trust/revocations", headers=anonymous).json()["hashes"] == [issued.json()["hash"]]
    revoked = [
        e
        for e in client.get("/v1/audit", headers=client.tokens[Role.ADMIN]).json()
        if e["action"] == "code.revoke"
    ]
    assert [(e["who"], e["detail"]["hash"]) for e in revoked] == [("test-reviewer", issued.json()["hash"])]


def test_a_citizen_gets_codes_for_themself_and_family_only_and_staff_codes_are_audited(
    client: StaffClient,
) -> None:
    citizen = client.tokens[Role.CITIZEN]
    body = {"at": "2021-11-29T06:30", "hours": 1}
    own = client.post("/v1/codes", json={**body, "id_number": CITIZEN}, headers=citizen)
    assert own.status_code == 200, own.text
    assert own.json()["id"] == masked(CITIZEN)
    lifetime = datetime.fromisoformat(own.json()["expires_at"]) - datetime.fromisoformat(
        own.json()["issued_at"]
    )
    assert lifetime.total_seconds() == 3600, "the hours asked for are the code's lifetime"

    stranger = client.post("/v1/codes", json={**body, "id_number": TIANJIN}, headers=citizen)
    assert stranger.status_code == 403, stranger.text
    assert stranger.json()["detail"] and "家人" in stranger.json()["detail_zh"]

    assert client.post("/v1/me/family", json={"id_number": TIANJIN}, headers=citizen).status_code == 201
    # a code carries the pop-up: none for a family member until the link is confirmed
    unconfirmed = client.post("/v1/codes", json={**body, "id_number": TIANJIN}, headers=citizen)
    assert unconfirmed.status_code == 403 and "确认" in unconfirmed.json()["detail_zh"], unconfirmed.text
    reviewer = client.tokens[Role.REVIEWER]
    link = next(
        link
        for link in client.get("/v1/family/pending", headers=reviewer).json()
        if link["id"] == masked(TIANJIN)
    )
    verified = client.post(
        f"/v1/family/{link['adder']}/{link['person']}/verify", json={"reason": "户口簿"}, headers=reviewer
    )
    assert verified.status_code == 200, verified.text
    family = client.post("/v1/codes", json={**body, "id_number": TIANJIN}, headers=citizen)
    assert family.status_code == 200, family.text
    staff = client.post(
        "/v1/codes", json={**body, "id_number": CITIZEN, "reason": "phone lost, code for the paper copy"}
    )
    assert staff.status_code == 200, staff.text

    # the citizen sees who made codes of their (and their family's) status; their own is not logged
    seen = client.get("/v1/me/accesses", headers=citizen).json()
    issued = [(a["who"], a["reason"]) for a in seen if a["action"] == "code.issue"]
    assert sorted(issued) == [
        ("test-citizen", "family member / 家人"),
        ("test-reviewer", "phone lost, code for the paper copy"),
    ]


def test_codes_issued_without_a_time_use_the_installations_clock(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, secret="x", now=datetime.fromisoformat("2021-11-29T06:30+08:00"), **FAST_HASHING
    )
    make_users(settings, CITIZEN)
    with StaffClient(create_app(settings), raise_server_exceptions=False) as fixed:
        fixed.sign_in_all()
        issued = fixed.post("/v1/codes", json={"id_number": TIANJIN})
        assert issued.status_code == 200, issued.text
        assert issued.json()["issued_at"] == "2021-11-29T06:30:00+08:00"
        verified = fixed.post("/v1/codes/verify", json={"code": issued.json()["code"]}).json()
        assert verified["at"].startswith("2021-11-29T06:30")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "JJJ1:" + "%" * 7000},
        {"code": "JJJ1:garbage", "mode": "boat"},
        {"code": 12},
        {},
    ],
)
def test_api_never_answers_500_to_a_bad_code(client: StaffClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/codes/verify", json=body)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["valid"] is False


def test_checkpoint_commands_without_a_service_keep_the_swipe_and_say_why(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sync, status = run_many(
        [
            Call(tmp_path / "a", ("checkpoint", "sync", "--server", dead), expect=1),
            Call(tmp_path / "b", ("checkpoint", "status"), expect=0),
        ]
    )
    assert sync.line["error"]["field"] == "server"
    assert status.line == {
        "checkpoint": "checkpoint",
        "pending": 0,
        "snapshot_as_of": None,
        "snapshot_age_minutes": None,
    }
    swipe = run_cli(
        tmp_path / "b", "checkpoint", "swipe", TIANJIN, "--server", dead, "--site", "燕郊检查站", expect=2
    )
    assert swipe.line["error"]["field"] == "snapshot"  # no snapshot to decide from: said, not guessed
    assert (
        run_cli(tmp_path / "b", "checkpoint", "status").line["pending"] == 1
    )  # the swipe is kept to send later


def test_my_test_results_for_me_and_my_family_with_what_each_counts_for(tmp_path: Path) -> None:
    from commutepass.kit.context import App
    from commutepass.loads.service import load_file

    settings = Settings(
        data_dir=tmp_path, secret="x", now=datetime.fromisoformat("2021-11-22T09:00+08:00"), **FAST_HASHING
    )
    make_users(settings, CITIZEN)
    nat = write_csv(
        tmp_path / "nat.csv",
        NAT_HEADER,
        [
            [CITIZEN, "2021-11-21T10:00", "2021-11-21T18:00", "negative", "北京市疾控中心"],
            [CITIZEN, "2021-11-02T10:00", "2021-11-02T18:00", "negative", "廊坊市人民医院"],
            [TIANJIN, "2021-11-20T08:00", "2021-11-20T20:00", "positive", "天津金域医学检验"],
            [
                resident_id("110101", date(1980, 1, 1), 5),
                "2021-11-21T10:00",
                "2021-11-21T18:00",
                "negative",
                "x",
            ],
        ],
    )
    application = App.open(settings)
    try:
        load_file(application, "nat", nat)
    finally:
        application.close()
    with StaffClient(create_app(settings), raise_server_exceptions=False) as fixed:
        fixed.sign_in_all()
        citizen = fixed.tokens[Role.CITIZEN]
        assert fixed.post("/v1/me/family", json={"id_number": TIANJIN}, headers=citizen).status_code == 201
        # a family member's results are theirs: shown only once the link is confirmed or verified
        (alone,) = fixed.get("/v1/me/results", headers=citizen).json()
        assert alone["self"] is True
        hotline = fixed.tokens[Role.HOTLINE]
        (link,) = fixed.get("/v1/family/pending", headers=hotline).json()
        verified = fixed.post(
            f"/v1/family/{link['adder']}/{link['person']}/verify", json={"reason": "户口簿"}, headers=hotline
        )
        assert verified.status_code == 200, verified.text
        answer = fixed.get("/v1/me/results", headers=citizen)
        assert answer.status_code == 200, answer.text
        me, family = answer.json()
        assert (me["self"], family["self"]) == (True, False)
        assert CITIZEN not in answer.text and TIANJIN not in answer.text  # masked IDs only
        assert [r["lab"] for r in me["results"]] == ["北京市疾控中心", "廊坊市人民医院"]
        fresh, old = me["results"]
        assert fresh["result"] == "negative" and fresh["sampled_at"] == "2021-11-21T10:00:00+08:00"
        uses = {u["rule"]: u for u in fresh["uses"]}
        assert uses["entry"]["until"] == "2021-11-23T10:00:00+08:00" and uses["entry"]["in_force"]
        assert uses["commuter"]["until"] == "2021-12-05T00:00:00+08:00" and uses["commuter"]["in_force"]
        assert "48" in uses["entry"]["zh"] and "14" in uses["commuter"]["en"]
        assert not any(u["in_force"] for u in old["uses"])  # reported 11-02: past both windows
        (positive,) = family["results"]
        assert positive["result"] == "positive"
        assert [(u["rule"], u["in_force"]) for u in positive["uses"]] == [("red", True)]
        # the citizen page lists them too
        page = fixed.get("/citizen", headers=citizen)
        assert page.status_code == 200 and "我的核酸检测结果" in page.text and "北京市疾控中心" in page.text
        assert "已过期" in page.text
