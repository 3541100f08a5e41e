"""Family by consent: adding someone's ID number reveals nothing on its own. Until the member
confirms from their own account (or a reviewer or hotline operator verifies the relation with the
documents), the one who added them sees only the colour, the badge and the NAT deadline — never a
place, a county or a trip date; confirming, verifying and removing are audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commutepass.accounts import service as auth
from commutepass.domain.clock import BEIJING
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.loads.service import COLUMNS, load_file
from tests.e2e.auth import FAST_HASHING, PASSWORD, StaffClient, sign_in, staff_client
from tests.e2e.support import resident_id
from tests.helpers import masked, write_csv

pytestmark = pytest.mark.e2e

ADDER = resident_id("131082", date(1990, 1, 1), 71)
STRANGER = resident_id("120104", date(1991, 2, 3), 72)  # a trip to 120116 (a county with a case)
CHILD = resident_id("120104", date(2016, 2, 3), 73)  # the same trip, no account of their own
AT = "2021-11-29T07:30"
PLACE_MARKS = ("120116", "滨海", "11-24", "Binhai", "到过")


def _scene(data_dir: Path) -> None:
    app = App.open(Settings(data_dir=data_dir, secret="x", **FAST_HASHING))
    try:
        nats = [
            (p, "2021-11-28T09:00", "2021-11-28T15:00", "negative", "天津市第一中心医院")
            for p in (STRANGER, CHILD)
        ]
        load_file(app, "nat", write_csv(data_dir / "nat.csv", COLUMNS["nat"], nats))
        trips = [(p, "2021-11-24", "120116") for p in (STRANGER, CHILD)]
        load_file(app, "itinerary", write_csv(data_dir / "it.csv", COLUMNS["itinerary"], trips))
        risk = [("120116", "case", "2021-11-20", "")]
        load_file(app, "risk", write_csv(data_dir / "risk.csv", COLUMNS["risk"], risk))
        auth.add_user(app, "the-stranger", PASSWORD, Role.CITIZEN, id_number=STRANGER)
    finally:
        app.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("family")


@pytest.fixture(scope="module")
def client(data: Path) -> Iterator[StaffClient]:
    with staff_client(data, ADDER) as test_client:
        _scene(data)
        test_client.sign_in_all()
        yield test_client


def _status(client: StaffClient, headers: dict[str, str], number: str) -> Any:
    return client.post("/v1/status", json={"id_number": number, "at": AT}, headers=headers)


def _audit_actions(client: StaffClient) -> list[tuple[str, str]]:
    entries = client.get("/v1/audit", headers=client.tokens[Role.ADMIN]).json()
    return [(e["who"], e["action"]) for e in entries]


def test_a_stranger_added_as_family_shows_no_place_until_they_confirm_and_can_remove_the_link(
    client: StaffClient,
) -> None:
    adder = client.tokens[Role.CITIZEN]
    # before adding: refused outright
    assert _status(client, adder, STRANGER).status_code == 403
    added = client.post("/v1/me/family", json={"id_number": STRANGER}, headers=adder)
    assert added.status_code == 201 and added.json()["confirmed"] is False, added.text

    limited = _status(client, adder, STRANGER)
    assert limited.status_code == 200, limited.text
    body = limited.json()
    assert body["limited"] is True and body["reasons"] == [] and body["popup"] is None
    assert body["color"] in ("green", "yellow", "red") and "commuter_badge" in body
    assert body["nat_valid_until"] is not None, "the NAT deadline is shown"
    for mark in PLACE_MARKS:
        assert mark not in limited.text, f"{mark!r} leaked to an unconfirmed family member"
    code = client.post("/v1/codes", json={"id_number": STRANGER, "at": AT}, headers=adder)
    assert code.status_code == 403 and "confirm" in code.json()["detail"], code.text
    appeal = client.post(
        "/v1/appeals", json={"id_number": STRANGER, "kind": "popup", "statement": "?"}, headers=adder
    )
    assert appeal.status_code == 403, appeal.text
    assert client.get("/v1/me", headers=adder).json()["family_pending"] == [masked(STRANGER)]

    # the member sees who added them and confirms from their own account
    member = sign_in(client, "the-stranger")
    client.cookies.clear()
    requests = client.get("/v1/me/family/requests", headers=member).json()
    assert [(r["username"], r["confirmed"]) for r in requests] == [("test-citizen", False)]
    adder_id = requests[0]["adder"]
    confirmed = client.post(f"/v1/me/family/requests/{adder_id}/confirm", headers=member)
    assert confirmed.status_code == 200, confirmed.text
    full = _status(client, adder, STRANGER).json()
    assert full["limited"] is False and full["popup"] is not None
    assert any(r["code"].startswith("TRIP") or "120116" in str(r) for r in full["reasons"]), full["reasons"]

    # the member removes the link: the adder sees nothing at all any more
    removed = client.delete(f"/v1/me/family/requests/{adder_id}", headers=member)
    assert removed.status_code == 200, removed.text
    assert _status(client, adder, STRANGER).status_code == 403
    again = client.delete(f"/v1/me/family/requests/{adder_id}", headers=member)
    assert again.status_code == 422 and again.json()["field"] == "link"
    actions = _audit_actions(client)
    assert ("the-stranger", "family.confirm") in actions and ("the-stranger", "family.withdraw") in actions
    assert ("test-citizen", "family.add") in actions


def test_a_child_without_an_account_is_verified_by_the_hotline_with_the_documents(
    client: StaffClient,
) -> None:
    adder = client.tokens[Role.CITIZEN]
    hotline = client.tokens[Role.HOTLINE]
    assert client.post("/v1/me/family", json={"id_number": CHILD}, headers=adder).status_code == 201
    assert _status(client, adder, CHILD).json()["limited"] is True
    pending = client.get("/v1/family/pending", headers=hotline).json()
    link = next(p for p in pending if p["id"] == masked(CHILD))
    assert CHILD not in str(pending), "staff see masked IDs only"
    url = f"/v1/family/{link['adder']}/{link['person']}/verify"
    no_reason = client.post(url, json={"reason": " "}, headers=hotline)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert client.post(url, json={"reason": "出生医学证明、户口簿"}, headers=hotline).status_code == 200
    assert _status(client, adder, CHILD).json()["limited"] is False
    assert masked(CHILD) not in [p["id"] for p in client.get("/v1/family/pending", headers=hotline).json()]
    assert ("test-hotline", "family.verify") in _audit_actions(client)


def test_the_pages_show_the_limited_view_and_let_the_member_confirm(client: StaffClient, data: Path) -> None:
    other = resident_id("120104", date(1985, 5, 5), 74)
    app = App.open(Settings(data_dir=data, secret="x", **FAST_HASHING))
    try:
        auth.add_user(app, "page-member", PASSWORD, Role.CITIZEN, id_number=other)
        # the pages read the real clock here: a trip three days ago to the county with a case
        trip_day = (datetime.now(BEIJING) - timedelta(days=3)).date().isoformat()
        trips = [(other, trip_day, "120116")]
        load_file(app, "itinerary", write_csv(data / "it2.csv", COLUMNS["itinerary"], trips))
    finally:
        app.close()
    adder = client.tokens[Role.CITIZEN]
    added = client.post("/citizen/family", data={"id_number": other}, headers=adder, follow_redirects=True)
    assert added.status_code == 200
    assert 'id="limited-view"' in added.text and 'id="popup"' not in added.text
    for mark in ("120116", "滨海"):
        assert mark not in added.text
    member = sign_in(client, "page-member")
    client.cookies.clear()
    own = client.get("/citizen", headers=member)
    assert 'id="family-requests"' in own.text and "test-citizen" in own.text
    adder_id = client.get("/v1/me/family/requests", headers=member).json()[0]["adder"]
    confirmed = client.post(
        f"/citizen/family/requests/{adder_id}/confirm", headers=member, follow_redirects=True
    )
    assert confirmed.status_code == 200, confirmed.text
    assert re.search(r"<li data-adder=\"\d+\" data-confirmed=\"true\"", confirmed.text), confirmed.text[
        -3000:
    ]
    position = len(client.get("/v1/me", headers=adder).json()["family"])  # self first, then family
    shown = client.get(f"/citizen?who={position}", headers=adder)
    assert masked(other) in shown.text
    assert 'id="limited-view"' not in shown.text and 'id="why"' in shown.text
    assert "120116" in shown.text, "once confirmed, the trip's county is shown"
