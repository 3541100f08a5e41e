"""The HTTP API end to end, in process: FastAPI's TestClient over the real app and its lifespan.

Errors must be RFC 9457 problem details with a 4xx status; nothing a client sends may give 500.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.auth import StaffClient, staff_client
from tests.e2e.support import masked, resident_id, with_wrong_check_digit

COMMUTER = resident_id("131082", date(1990, 1, 1), 12)  # 三河: ring area
VISITOR = resident_id("130681", date(1985, 6, 15), 21)  # 涿州
RISKY = resident_id("130802", date(1992, 9, 9), 44)  # 承德双桥区
CITIZEN = resident_id("120114", date(1988, 4, 4), 7)  # 武清: the signed-in citizen
PROBLEM = "application/problem+json"
CSV = {"content-type": "text/csv"}
PARQUET = {"content-type": "application/vnd.apache.parquet"}
NAT_HEADER = "id_number,sampled_at,reported_at,result,lab\n"


def make_client(data_dir: Path) -> StaffClient:
    """The real app with one user per role; each request goes as the role its endpoint is for."""
    return staff_client(data_dir, CITIZEN)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path / "data") as test_client:  # the context manager runs the lifespan
        test_client.sign_in_all()
        yield test_client


def codes(body: dict[str, Any], key: str = "reasons") -> list[str]:
    return [r["code"] for r in body[key]]


def assert_problem(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """An RFC 9457 problem: the media type and the members type, title, status and detail."""
    assert response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def load(client: TestClient, kind: str, body: bytes, headers: dict[str, str] = CSV) -> dict[str, Any]:
    response = client.post(f"/v1/loads/{kind}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


# --- the happy paths ------------------------------------------------------------------------------


def test_commuter_flow_over_http(client: TestClient, tmp_path: Path) -> None:
    """Load a NAT (CSV), enrol, list, check twice (the first check is recorded), status."""
    nat = (
        NAT_HEADER
        + f"{COMMUTER},2021-11-19T08:00,2021-11-19T20:00,negative,廊坊市人民医院\n"
        + f"{COMMUTER},2021-11-19T08:00,2021-11-18T20:00,negative,廊坊市人民医院\n"
    )
    loaded = load(client, "nat", nat.encode())
    assert (loaded["kind"], loaded["rows"], loaded["added"], loaded["rejected"]) == ("nat", 2, 1, 1)
    assert loaded["rejects"] == [
        {
            "row": 3,
            "field": "reported_at",
            "reason": "is earlier than sampled_at",
            "reason_zh": "报告时间早于采样时间",
        }
    ]
    assert not list((tmp_path / "data" / "uploads").iterdir()), "uploads are removed after loading"

    assert client.get("/v1/commuters", params={"as_of": "2021-11-15T00:00"}).json() == []
    enrolled = client.post(
        "/v1/commuters",
        json={"id_number": COMMUTER, "since": "2021-11-01", "source": "application", "home_county": "131082"},
    )
    assert enrolled.status_code == 201, enrolled.text
    entry = enrolled.json()
    assert (entry["id"], entry["source"], entry["home_county"]) == (masked(COMMUTER), "application", "131082")
    listed = client.get("/v1/commuters", params={"as_of": "2021-11-15T00:00"}).json()
    assert [e["person_key"] for e in listed] == [entry["person_key"]]
    assert client.get("/v1/commuters", params={"as_of": "2021-10-31T23:59:59+08:00"}).json() == []
    assert client.get("/v1/commuters", params={"as_of": "2021-11-15", "offset": 1}).json() == []

    check = {"id_number": COMMUTER, "site": "白庙检查站", "mode": "road"}
    first = client.post("/v1/checks", json={**check, "at": "2021-11-20T07:00"})
    assert first.status_code == 200, first.text
    assert first.json()["decision"] == "allow"
    assert codes(first.json()) == ["COMMUTER_FIRST_CHECK", "NAT_ENTRY_VALID"]
    second = client.post("/v1/checks", json={**check, "at": "2021-11-24T23:00:00Z"}).json()
    assert second["at"] == "2021-11-25T07:00:00+08:00"
    assert second["decision"] == "allow" and codes(second) == ["COMMUTER_NAT_VALID"]
    assert "放行" in second["explanation"]["zh"] and "allowed" in second["explanation"]["en"]

    status = client.post("/v1/status", json={"id_number": COMMUTER, "at": "2021-11-25T07:00"})
    assert status.status_code == 200
    body = status.json()
    assert (body["color"], body["commuter_badge"], body["commuter_class"]) == ("green", True, "daily")
    assert body["nat_valid_until"] == "2021-12-03T00:00:00+08:00"
    assert codes(body) == ["CODE_GREEN", "IN_COMMUTER_DB", "BADGE_SHOWN"]
    assert body["reasons"][-1]["remedy"]["en"].startswith("Test again before 2021-12-03")
    assert COMMUTER not in status.text, "the full ID number never comes back"


def test_parquet_loads_and_the_risk_rule(client: TestClient) -> None:
    risk = pa.table(
        {
            "county": ["130821", "152501"],
            "level": ["case", "border_port"],
            "start": pa.array([date(2021, 11, 15), date(2020, 1, 1)], pa.date32()),
            "end": pa.array([None, None], pa.date32()),
        }
    )
    itinerary = pa.table(
        {
            "id_number": [RISKY, RISKY, "not-an-id"],
            "date": pa.array([date(2021, 11, 20), date(2021, 11, 21), date(2021, 11, 21)], pa.date32()),
            "county": ["130821", "130802", "130802"],
        }
    )
    nat = pa.table(
        {
            "id_number": [RISKY],
            "sampled_at": ["2021-11-21T08:00"],
            "reported_at": ["2021-11-21T20:00"],
            "result": ["negative"],
            "lab": ["承德市医院"],
            "extra": [1],  # columns the load does not need are ignored
        }
    )
    loaded_risk = load(client, "risk", parquet_bytes(risk), PARQUET)
    assert (loaded_risk["rows"], loaded_risk["added"], loaded_risk["rejected"]) == (2, 2, 0)
    assert loaded_risk["file"] == "upload.parquet"
    loaded_itinerary = load(client, "itinerary", parquet_bytes(itinerary), PARQUET)
    assert (loaded_itinerary["added"], loaded_itinerary["rejected"]) == (2, 1)
    assert (
        loaded_itinerary["rejects"][0]["row"] == 3 and loaded_itinerary["rejects"][0]["field"] == "id_number"
    )
    octet = {"content-type": "application/octet-stream"}
    assert load(client, "nat", parquet_bytes(nat), octet)["added"] == 1

    check = client.post(
        "/v1/checks", json={"id_number": RISKY, "at": "2021-11-22T09:00", "site": "承德南站", "mode": "rail"}
    ).json()
    assert (check["decision"], check["color"]) == ("refuse", "yellow")
    assert check["popup"]["code"] == "POPUP_TRAVEL_CASE_COUNTY"
    assert "REFUSE_RISK_TRAVEL" in codes(check)
    # the officer never sees where the person travelled; the reviewer's status look-up shows it
    assert "TRAVEL_CASE_COUNTY" not in codes(check, "status_reasons")
    assert "承德县" not in json.dumps(check, ensure_ascii=False)
    status = client.post("/v1/status", json={"id_number": RISKY, "at": "2021-11-22T09:00"}).json()
    assert "TRAVEL_CASE_COUNTY" in codes(status)
    assert status["reasons"][0]["params"]["place"].startswith("河北省承德市承德县")


def test_loading_the_same_body_twice_adds_nothing(client: TestClient) -> None:
    body = (NAT_HEADER + f"{VISITOR},2021-11-21T10:00,2021-11-21T18:00,negative,lab\n").encode()
    assert load(client, "nat", body)["added"] == 1
    again = load(client, "nat", body)
    assert (again["added"], again["duplicate"]) == (0, 1)


def test_both_policies_apply_by_time(client: TestClient) -> None:
    policies = client.get("/v1/policies").json()
    assert [p["version"] for p in policies] == ["2020-02-14", "2021-11-17"]
    assert policies[0]["effective_to"] == policies[1]["effective_from"] == "2021-11-17T00:00:00+08:00"
    assert policies[1]["effective_to"] is None
    assert all(p["title_zh"] and p["title_en"] for p in policies)

    enrolled = client.post(
        "/v1/commuters", json={"id_number": COMMUTER, "since": "2020-02-01", "source": "manual"}
    )
    assert enrolled.status_code == 201
    # within the 30 days an enrolment counts without travel records (it started 02-01)
    check = {"at": "2020-02-20T08:00", "site": "白庙检查站", "mode": "road"}
    commuter = client.post("/v1/checks", json={**check, "id_number": COMMUTER}).json()
    visitor = client.post("/v1/checks", json={**check, "id_number": VISITOR}).json()
    assert commuter["policy_version"] == visitor["policy_version"] == "2020-02-14"
    assert (commuter["decision"], codes(commuter)) == ("allow", ["COMMUTER_ROUTINE_PASSAGE"])
    assert (visitor["decision"], codes(visitor)) == ("allow_quarantine", ["OBSERVATION_14D"])
    assert commuter["commuter_badge"] is False, "there was no badge in 2020"


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "commutepass"
    for path, method in [
        ("/v1/status", "post"),
        ("/v1/checks", "post"),
        ("/v1/commuters", "get"),
        ("/v1/commuters", "post"),
        ("/v1/loads/{kind}", "post"),
        ("/v1/policies", "get"),
        ("/health", "get"),
    ]:
        assert method in spec["paths"][path], (path, method)
    load_body = spec["paths"]["/v1/loads/{kind}"]["post"]["requestBody"]["content"]
    assert {"text/csv", "application/vnd.apache.parquet"} <= load_body.keys()
    assert client.get("/health").json() == {"status": "ok"}


def test_the_openapi_declares_the_headers_and_problem_fields_the_server_sends(client: TestClient) -> None:
    """Issue 16 item 1 for what main added since: the revocation filter's binary body and its
    headers, the replay header of POST /v1/checks, Retry-After with every 503 (and 429), and the
    policy upload's list of problems are declared as the server sends them."""
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for code in ("429", "503"):
                if code in operation["responses"]:
                    assert "Retry-After" in operation["responses"][code]["headers"], (method, path, code)
    filter_ok = spec["paths"]["/v1/trust/revocations/filter"]["get"]["responses"]["200"]
    assert filter_ok["content"]["application/cose"]["schema"]["format"] == "binary"
    sent = client.get("/v1/trust/revocations/filter")
    assert sent.status_code == 200 and sent.headers["content-type"] == "application/cose"
    for name, declared in filter_ok["headers"].items():
        assert declared["required"] and int(sent.headers[name]) >= 0, name
    checks_ok = spec["paths"]["/v1/checks"]["post"]["responses"]["200"]
    assert "Idempotent-Replayed" in checks_ok["headers"]
    assert "problems" in spec["components"]["schemas"]["Problem"]["properties"]


# --- errors: problem details, never a 500 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/status", {"id_number": with_wrong_check_digit(VISITOR), "at": "2021-11-22T09:00"}),
        ("/v1/checks", {"id_number": "12345", "at": "2021-11-22T09:00", "site": "x", "mode": "road"}),
        ("/v1/commuters", {"id_number": "11010119900230001X", "since": "2021-11-01", "source": "manual"}),
    ],
    ids=["status-check-digit", "check-length", "commuter-birth-date"],
)
def test_a_bad_id_number_is_a_422_problem_naming_the_field(
    client: TestClient, path: str, body: dict[str, Any]
) -> None:
    problem = assert_problem(client.post(path, json=body), 422)
    assert problem["field"] == "id_number"
    assert problem["detail"].startswith("id_number: ")
    assert re.search(r"[\u4e00-\u9fff]", problem["detail_zh"])
    assert body["id_number"] not in json.dumps(problem), "the number is masked in the message"


def test_a_missing_field_is_a_422_problem_listing_it(client: TestClient) -> None:
    problem = assert_problem(client.post("/v1/checks", json={"id_number": VISITOR, "mode": "road"}), 422)
    assert [e["field"] for e in problem["errors"]] == ["site"]
    assert "site" in problem["detail"]
    problem = assert_problem(client.get("/v1/commuters"), 422)
    assert problem["errors"][0]["field"] == "query.as_of"


def test_unknown_load_kind_wrong_content_type_unknown_route(client: TestClient) -> None:
    body = NAT_HEADER.encode()
    unknown_kind = assert_problem(client.post("/v1/loads/vaccines", content=body, headers=CSV), 422)
    assert "travel" in unknown_kind["detail"]
    wrong_type = assert_problem(
        client.post("/v1/loads/nat", content=body, headers={"content-type": "application/json"}), 415
    )
    assert "application/json" in wrong_type["detail"]
    assert_problem(client.post("/v1/loads/nat", content=body, headers={"content-type": ""}), 415)
    assert_problem(client.get("/v1/no-such-thing"), 404)
    assert_problem(client.delete("/v1/checks"), 405)
    # Allow names every method at the address, and a typed path parameter is not matched by a word
    assert client.options("/v1/alerts/evaluate").headers["allow"] == "POST"
    assert client.options("/v1/alerts/7").headers["allow"] == "GET"


def test_a_file_that_cannot_be_loaded_is_a_422_problem_and_stores_nothing(client: TestClient) -> None:
    for body, headers, words in [
        (b"", CSV, "empty"),
        (b"a,b\n1,2\n", CSV, "needs the columns"),
        (b"\xff\xfe\x00bad", CSV, "UTF-8"),
        (b"PAR1 not really", PARQUET, "Parquet"),
    ]:
        problem = assert_problem(client.post("/v1/loads/nat", content=body, headers=headers), 422)
        assert words in problem["detail"], problem
        assert problem["detail_zh"]
    status = client.post("/v1/status", json={"id_number": VISITOR, "at": "2021-11-22T09:00"}).json()
    assert status["nat_valid_until"] is None


def _check(**fields: Any) -> dict[str, Any]:
    return {"json": {"id_number": VISITOR, "site": "x", "mode": "road", **fields}}


def _commuter(**fields: Any) -> dict[str, Any]:
    return {"json": {"id_number": VISITOR, "since": "2021-11-01", "source": "manual", **fields}}


def _csv(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": CSV}


MALFORMED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "check-id-is-a-number": ("post", "/v1/checks", _check(id_number=18)),
    "check-site-is-a-list": ("post", "/v1/checks", _check(site=["x"])),
    "check-mode-plane": ("post", "/v1/checks", _check(mode="plane")),
    "check-site-too-long": ("post", "/v1/checks", _check(site="x" * 65)),
    "check-site-blank": ("post", "/v1/checks", _check(site="   ")),
    "check-smartphone-perhaps": ("post", "/v1/checks", _check(smartphone="perhaps")),
    "check-companion-is-a-number": ("post", "/v1/checks", _check(companions=[1])),
    "check-companion-bad-id": ("post", "/v1/checks", _check(companions=["1"])),
    "check-eleven-companions": ("post", "/v1/checks", _check(companions=[VISITOR] * 11)),
    "check-id-of-a-million-digits": ("post", "/v1/checks", _check(id_number="9" * 1_000_000)),
    "check-id-of-nul-bytes": ("post", "/v1/checks", _check(id_number="\x00" * 18)),
    "check-february-30": ("post", "/v1/checks", _check(at="2021-02-30T07:00")),
    "check-before-any-policy": ("post", "/v1/checks", _check(at="2019-01-01T07:00")),
    "check-year-9999": ("post", "/v1/checks", _check(at="9999-12-31T23:00")),
    "check-body-is-a-list": ("post", "/v1/checks", {"json": [VISITOR]}),
    "check-body-is-null": ("post", "/v1/checks", {"json": None}),
    "check-not-json": (
        "post",
        "/v1/checks",
        {"content": b"{not", "headers": {"content-type": "application/json"}},
    ),
    "check-not-utf8": (
        "post",
        "/v1/checks",
        {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
    ),
    "check-plain-text": (
        "post",
        "/v1/checks",
        {"content": b"id_number=1", "headers": {"content-type": "text/plain"}},
    ),
    "status-at-yesterday": ("post", "/v1/status", {"json": {"id_number": VISITOR, "at": "yesterday"}}),
    "status-at-1e20": ("post", "/v1/status", {"json": {"id_number": VISITOR, "at": 1e20}}),
    "status-year-9999-west": (
        "post",
        "/v1/status",
        {"json": {"id_number": VISITOR, "at": "9999-12-31T23:59:59-12:00"}},
    ),
    "status-year-1-east": (
        "post",
        "/v1/status",
        {"json": {"id_number": VISITOR, "at": "0001-01-01T00:00:00+14:00"}},
    ),
    "status-id-is-a-list": ("post", "/v1/status", {"json": {"id_number": ["a"]}}),
    "status-empty-object": ("post", "/v1/status", {"json": {}}),
    "commuter-november-31": ("post", "/v1/commuters", _commuter(since="2021-11-31")),
    "commuter-since-year-1": ("post", "/v1/commuters", _commuter(since="0001-01-01")),
    "commuter-since-year-9999": ("post", "/v1/commuters", _commuter(since="9999-12-31")),
    "commuter-source-auto": ("post", "/v1/commuters", _commuter(source="auto")),
    "commuter-class-3": ("post", "/v1/commuters", _commuter(commuter_class=3)),
    "commuter-home-in-beijing": ("post", "/v1/commuters", _commuter(home_county="110101")),
    "commuter-reason-too-long": ("post", "/v1/commuters", _commuter(reason="x" * 501)),
    "list-as-of-garbage": ("get", "/v1/commuters?as_of=not-a-time", {}),
    "list-as-of-year-1": ("get", "/v1/commuters?as_of=0001-01-01T00:00:00", {}),
    "list-as-of-year-9999-west": ("get", "/v1/commuters?as_of=9999-12-31T23:59:59-12:00", {}),
    "list-limit-0": ("get", "/v1/commuters?as_of=2021-11-01&limit=0", {}),
    "list-offset-negative": ("get", "/v1/commuters?as_of=2021-11-01&offset=-1", {}),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_requests_are_4xx_problems(client: TestClient, name: str) -> None:
    method, path, kwargs = MALFORMED[name]
    response = getattr(client, method)(path, **kwargs)
    assert_problem(response)


def test_a_loaded_row_with_a_time_out_of_range_is_rejected_not_fatal(client: TestClient) -> None:
    good = resident_id("131082", date(1985, 5, 5), 7)
    body = (
        "id_number,event_time,direction,mode,site,county\n"
        f"{VISITOR},9999-12-31T23:59-12:00,enter,road,x,131082\n"
        f"{good},2021-11-20T07:00,enter,road,x,131082\n"
    )
    response = client.post("/v1/loads/travel", content=body.encode(), headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    loaded = response.json()
    assert (loaded["added"], loaded["rejected"]) == (1, 1)
    assert loaded["rejects"][0]["row"] == 2 and loaded["rejects"][0]["field"] == "event_time"
    assert "outside the range" in loaded["rejects"][0]["reason"]
    nat = NAT_HEADER + f"{VISITOR},0001-01-01T00:00+14:00,0001-01-01T01:00+14:00,negative,x\n"
    response = client.post("/v1/loads/nat", content=nat.encode(), headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert [r["field"] for r in response.json()["rejects"]] == ["sampled_at"]


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with make_client(tmp_path_factory.mktemp("fuzz")) as test_client:
        test_client.sign_in_all()
        yield test_client


JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
VALID_CHECK = {"id_number": VISITOR, "at": "2021-11-22T09:00", "site": "白庙检查站", "mode": "road"}
FUZZED = {
    "id_number": st.sampled_from([COMMUTER, with_wrong_check_digit(VISITOR), "", "x" * 5000])
    | st.text(max_size=20)
    | JSON_LEAF,
    "at": st.sampled_from(["2020-03-01", "2021-11-22T09:00:00+05:45", "2021-11-22T09:00Z", "2021-W47"])
    | st.datetimes().map(lambda d: d.isoformat())
    | st.text(max_size=30)
    | JSON_LEAF,
    "site": st.text(max_size=70) | JSON_VALUE,
    "mode": st.sampled_from(["rail", "ROAD", "air", " road "]) | JSON_LEAF,
    "smartphone": st.sampled_from([False, "yes", "false", 0, 2]) | JSON_VALUE,
    "companions": st.lists(st.sampled_from([VISITOR, COMMUTER, "1", ""]), max_size=12) | JSON_VALUE,
    "unexpected": JSON_VALUE,
}


@st.composite
def check_bodies(draw: st.DrawFn) -> Any:
    """Mostly a valid check with one to three fields replaced or dropped; sometimes any JSON."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUE)
    body: dict[str, Any] = dict(VALID_CHECK)
    for name in draw(st.lists(st.sampled_from(sorted(FUZZED)), min_size=1, max_size=3, unique=True)):
        if name in body and draw(st.booleans()) and draw(st.booleans()):
            del body[name]
        else:
            body[name] = draw(FUZZED[name])
    return body


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=check_bodies())
def test_fuzzed_check_bodies_never_give_a_500(shared_client: TestClient, body: Any) -> None:
    response = shared_client.post("/v1/checks", json=body)
    if response.status_code == 200:
        assert response.json()["decision"] in (
            "allow",
            "allow_report",
            "allow_quarantine",
            "documents",
            "refuse",
        )
    else:
        assert_problem(response)


def test_the_pop_up_is_the_most_severe_risk_hit(client: TestClient) -> None:
    load(client, "risk", b"county,level,start,end\n130821,case,2021-11-15,\n")
    # a same-city county the day before the case county itself: the refusal is for the case county
    load(
        client,
        "itinerary",
        f"id_number,date,county\n{RISKY},2021-11-19,130802\n{RISKY},2021-11-20,130821\n".encode(),
    )
    check = client.post(
        "/v1/checks", json={"id_number": RISKY, "at": "2021-11-22T09:00", "site": "承德南站", "mode": "rail"}
    ).json()
    assert check["decision"] == "refuse" and "REFUSE_RISK_TRAVEL" in codes(check)
    assert check["popup"]["code"] == "POPUP_TRAVEL_CASE_COUNTY"


def test_answers_match_the_declared_response_schemas(client: TestClient) -> None:
    """The routes return the service's JSON without re-validating it: hold it to the schemas here."""
    from commutepass.checks.schemas import CheckOut, StatusOut

    load(client, "risk", b"county,level,start,end\n131028,case,2021-11-10,\n")
    load(
        client,
        "nat",
        (NAT_HEADER + f"{COMMUTER},2021-11-19T08:00,2021-11-19T20:00,negative,lab\n").encode(),
    )
    load(client, "itinerary", f"id_number,date,county\n{COMMUTER},2021-11-18,131082\n".encode())
    bodies = [
        {"id_number": COMMUTER, "at": "2021-11-20T07:00", "site": "白庙检查站", "mode": "road"},
        {
            "id_number": VISITOR,
            "at": "2021-11-20T07:00",
            "site": "涿州东站",
            "mode": "rail",
            "smartphone": False,
        },
        {
            "id_number": resident_id("131082", date(2020, 1, 1), 3),
            "at": "2021-11-20T07:00",
            "site": "x",
            "mode": "road",
            "companions": [COMMUTER],
        },
    ]
    seen = set()
    for body in bodies:
        checked = client.post("/v1/checks", json=body)
        assert checked.status_code == 200, checked.text
        seen.add(CheckOut.model_validate(checked.json()).decision)
        status = client.post("/v1/status", json={"id_number": body["id_number"], "at": body["at"]})
        assert status.status_code == 200, status.text
        StatusOut.model_validate(status.json())
    assert seen == {"allow_report", "refuse", "allow"}


def test_a_store_too_busy_to_give_a_connection_is_a_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pooled connection busy past the pool's timeout (SQLAlchemy's ``TimeoutError``) is
    answered as the store being away: 503, ``Retry-After``, a problem in both languages; not a 500."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from commutepass.checks import service

    def busy(*_args: Any, **_kwargs: Any) -> None:
        raise PoolTimeout(
            "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 10.00"
        )

    monkeypatch.setattr(service, "status_for", busy)
    answer = client.post("/v1/status", json={"id_number": COMMUTER, "at": "2021-11-25T07:00"})
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.headers["content-type"].split(";")[0] == PROBLEM
    body = answer.json()
    assert body["title"] == "Store unavailable" and "请稍后重试" in body["detail_zh"]
