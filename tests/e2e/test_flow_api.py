"""Flow warnings through the API: a simulated rush hour at a checkpoint (arrivals above its
capacity) raises the wait estimate, opens the warnings, sends each to a real local webhook
receiver exactly once, and resolves them when the flow falls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from commutepass.domain.clock import BEIJING
from commutepass.domain.roles import Role
from tests.e2e.auth import StaffClient, staff_client
from tests.e2e.support import resident_id
from tests.webhook import Receiver, webhook_receiver

pytestmark = pytest.mark.e2e

SITE = "西集检查站"  # 4 lanes × 1.5 people a minute: capacity 6 a minute (flow/sites.toml)
PEOPLE = [resident_id("131024", date(1980, 1, 1) + timedelta(days=i), 10 + i) for i in range(20)]
ADMIN = Role.ADMIN
ANALYST = Role.ANALYST
RUSH = datetime(2021, 11, 22, 7, 0, tzinfo=BEIJING)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def client(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[StaffClient]:
    monkeypatch.setenv("COMMUTEPASS_ALERT_WEBHOOK_URL", receiver.url)
    with staff_client(tmp_path / "data", PEOPLE[0]) as c:
        c.sign_in_all()
        # everyone has a fresh negative test: they are let through, so refusals stay at their level
        nat = "id_number,sampled_at,reported_at,result,lab\n" + "".join(
            f"{p},2021-11-21T10:00,2021-11-21T18:00,negative,lab\n" for p in PEOPLE
        )
        loaded = c.post("/v1/loads/nat", content=nat.encode(), headers={"content-type": "text/csv"})
        assert loaded.status_code == 200, loaded.text
        yield c


def swipe(client: StaffClient, at: datetime, n: int) -> None:
    for i in range(n):
        moment = at + timedelta(seconds=i * 60 // n)
        response = client.post(
            "/v1/checks",
            json={
                "id_number": PEOPLE[i % len(PEOPLE)],
                "at": moment.isoformat(),
                "site": SITE,
                "mode": "road",
                "lane": f"L{i % 4 + 1}",
            },
        )
        assert response.status_code == 200, response.text


def wait_at(client: StaffClient, at: datetime) -> float:
    response = client.get("/v1/waits", params={"at": at.isoformat()}, headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    site = next(s for s in response.json()["sites"] if s["site"] == SITE)
    assert "id_number" not in str(response.json())
    wait: float = site["wait_minutes"]
    return wait


def evaluate(client: StaffClient, at: datetime) -> dict[str, object]:
    response = client.post("/v1/alerts/evaluate", params={"at": at.isoformat()}, headers=client.tokens[ADMIN])
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_rush_hour_opens_sends_once_and_resolves(client: StaffClient, receiver: Receiver) -> None:
    # a quiet start: 3 a minute, half the capacity
    for minute in range(5):
        swipe(client, RUSH - timedelta(minutes=5 - minute), 3)
    quiet = wait_at(client, RUSH - timedelta(seconds=1))
    assert quiet < 2
    assert evaluate(client, RUSH - timedelta(seconds=1))["opened"] == []

    # the rush: 20 a minute for 10 minutes against a capacity of 6
    for minute in range(10):
        swipe(client, RUSH + timedelta(minutes=minute), 20)
    peak_at = RUSH + timedelta(minutes=9, seconds=59)
    peak = wait_at(client, peak_at)
    assert peak > 20 > quiet  # 140 people piled up over a capacity of 6 a minute: ~23 minutes
    flow = client.get(
        "/v1/flow", params={"at": peak_at.isoformat(), "site": SITE}, headers=client.tokens[ANALYST]
    ).json()[0]
    assert flow["per_5_minutes"]["arrivals"][-2:] == [100, 100]
    assert sum(lane["arrivals_last_hour"] for lane in flow["lanes"]) == flow["arrivals_last_hour"] == 215
    assert flow["estimate"]["wait_minutes"] == pytest.approx(peak)
    assert flow["refused_last_hour"] == 0

    opened = evaluate(client, peak_at)
    assert len(opened["opened"]) == 2  # type: ignore[arg-type]
    live = client.get("/v1/alerts", params={"live": "true"}, headers=client.tokens[ANALYST]).json()
    assert {a["rule"] for a in live} == {"flow-over-capacity", "wait-over-20-min"}
    assert receiver.requests == 2
    assert sorted((m["event"], m["alert"]["rule"]) for m in receiver.accepted) == [
        ("opened", "flow-over-capacity"),
        ("opened", "wait-over-20-min"),
    ]
    # still over capacity a minute later: the same alerts stay open, nothing is sent again
    assert evaluate(client, peak_at + timedelta(seconds=30))["opened"] == []
    assert receiver.requests == 2

    wait_alert = next(a for a in live if a["rule"] == "wait-over-20-min")
    acked = client.post(
        f"/v1/alerts/{wait_alert['id']}/acknowledge",
        json={"note": "两条车道增派人员"},
        headers=client.tokens[ANALYST],
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"

    # the flow falls: 2 a minute; the backlog drains at 4 a minute and is gone within 35 minutes
    later = RUSH + timedelta(minutes=10)
    for minute in range(40):
        swipe(client, later + timedelta(minutes=minute), 2)
    calm_at = later + timedelta(minutes=39, seconds=59)
    assert wait_at(client, calm_at) < 2
    resolved = evaluate(client, calm_at)
    assert sorted(resolved["resolved"]) == sorted(opened["opened"])  # type: ignore[arg-type]
    assert client.get("/v1/alerts", params={"live": "true"}, headers=client.tokens[ANALYST]).json() == []
    history = client.get(f"/v1/alerts/{wait_alert['id']}", headers=client.tokens[ANALYST]).json()["history"]
    assert [e["event"] for e in history] == ["opened", "acknowledged", "resolved"]
    # each message reached the receiver exactly once, under its own idempotency key
    events = sorted((m["event"], m["alert"]["rule"]) for m in receiver.accepted)
    assert events == [
        ("acknowledged", "wait-over-20-min"),
        ("opened", "flow-over-capacity"),
        ("opened", "wait-over-20-min"),
        ("resolved", "flow-over-capacity"),
        ("resolved", "wait-over-20-min"),
    ]
    assert len(set(receiver.keys)) == len(receiver.keys) == receiver.requests == 5
    assert evaluate(client, calm_at + timedelta(minutes=1))["delivery"] == {"sent": 0, "failed": 0}
    assert receiver.requests == 5


def test_waits_are_public_and_bad_times_are_problems(client: StaffClient) -> None:
    response = client.get("/v1/waits", headers={"Authorization": ""})
    assert response.status_code == 200
    assert any(s["site"] == SITE for s in response.json()["sites"])
    bad = client.get("/v1/waits", params={"at": "yesterday"}, headers={"Authorization": ""})
    assert bad.status_code == 422
    missing = client.post("/v1/alerts/999/acknowledge", json={}, headers=client.tokens[ANALYST])
    assert missing.status_code == 422, missing.text
    assert missing.json()["field"] == "alert_id"
    assert missing.headers["content-type"].startswith("application/problem+json")
