"""``GET /v1/me/inbox`` and the reminder switch over HTTP (issue 13, item 3): a decided
application reaches the citizen's inbox with the new database entry; reminders go off and on;
bad input gets a clear 422; other roles get 403."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from commutepass.domain.roles import Role
from tests.e2e.auth import StaffClient, staff_client
from tests.e2e.support import resident_id

pytestmark = pytest.mark.e2e

CITIZEN_ID = resident_id("131082", date(1990, 1, 1), 12)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[StaffClient]:
    with staff_client(tmp_path / "data", CITIZEN_ID) as test_client:
        test_client.sign_in_all()
        yield test_client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_decision_reaches_the_inbox_and_reminders_switch(client: StaffClient) -> None:
    citizen, officer, reviewer = (client.tokens[r] for r in (Role.CITIZEN, Role.OFFICER, Role.REVIEWER))
    assert ok(client.get("/v1/me/inbox", headers=citizen)) == {"reminders": True, "unread": 0, "messages": []}
    filed = ok(
        client.post(
            "/v1/applications",
            json={
                "id_number": CITIZEN_ID,
                "statement": "住三河，在朝阳上班",
                "home_county": "131082",
                "work_county": "110105",
            },
            headers=officer,
        ),
        201,
    )
    for kind in ("id_card", "work_proof", "residence_proof", "nat_proof"):
        ok(
            client.post(
                f"/v1/applications/{filed['id']}/documents",
                data={"kind": kind},
                files={"file": (f"{kind}.pdf", b"%PDF-1.4 " + kind.encode(), "application/pdf")},
                headers=officer,
            ),
            201,
        )
    ok(
        client.post(
            f"/v1/applications/{filed['id']}/decision",
            json={"status": "approved", "reason": "材料齐全"},
            headers=reviewer,
        )
    )
    box = ok(client.get("/v1/me/inbox", headers=citizen))
    assert box["unread"] == 2
    assert sorted(m["kind"] for m in box["messages"]) == ["application_decided", "entry_added"]
    decided = next(m for m in box["messages"] if m["kind"] == "application_decided")
    assert decided["codes"] == ["INBOX_APPLICATION_APPROVED"] and decided["self"] is True
    assert "材料齐全" in decided["zh"] and CITIZEN_ID not in str(box)
    assert ok(client.post("/v1/me/inbox/read", headers=citizen)) == {"read": 2}

    assert ok(client.post("/v1/me/inbox/reminders", json={"on": False}, headers=citizen)) == {
        "reminders": False
    }
    assert ok(client.get("/v1/me/inbox", headers=citizen))["reminders"] is False
    bad = client.post("/v1/me/inbox/reminders", json={"on": "maybe"}, headers=citizen)
    assert bad.status_code == 422 and "on" in bad.text
    assert client.get("/v1/me/inbox", headers=officer).status_code == 403
