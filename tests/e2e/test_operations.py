"""Operating the service: /metrics in Prometheus format, /ready, a request id on every answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.auth import StaffClient, staff_client
from tests.e2e.support import resident_id

pytestmark = pytest.mark.e2e
PERSON = resident_id("120114", date(1988, 4, 4), 7)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[StaffClient]:
    with staff_client(tmp_path / "data", PERSON) as c:
        c.sign_in_all()
        yield c


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_decisions_and_the_writer(client: StaffClient) -> None:
    before = _samples(client.get("/metrics").text)
    body = {"id_number": PERSON, "at": "2021-11-22T07:00", "site": "武清站", "mode": "rail"}
    assert client.post("/v1/checks", json=body).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("commutepass_http_requests_total", route="/v1/checks", method="POST", status="200") == 1
    assert grew("commutepass_decisions_total", decision="refuse", site="武清站") == 1
    assert grew("commutepass_swipe_commit_seconds_count") >= 1
    assert ("commutepass_swipe_queue_depth", ()) in after
    assert after[("commutepass_alerts_open", ())] == 0
    assert any(name == "commutepass_http_request_seconds_bucket" for name, _ in after)


def test_ready_and_health(client: StaffClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "problems": []}


def test_a_request_id_is_kept_or_made(client: StaffClient) -> None:
    made = client.get("/health").headers["x-request-id"]
    assert len(made) == 32
    assert client.get("/health").headers["x-request-id"] != made  # each request its own
    assert client.get("/health", headers={"X-Request-ID": "lb-1234"}).headers["x-request-id"] == "lb-1234"
    assert client.get("/health", headers={"X-Request-ID": "bad id\\n"}).headers["x-request-id"] != "bad id\\n"


def test_not_ready_without_a_policy_in_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMUTEPASS_NOW", "2019-01-01T00:00:00+08:00")
    with staff_client(tmp_path / "data", PERSON) as c:
        ready = c.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["problems"] == ["policy: none in force at 2019-01-01T00:00:00+08:00"]


def test_logs_are_json_lines_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging

    from commutepass.kit import observe

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    observe.configure_logging("INFO")
    token = observe.request_id.set("abc123")
    try:
        logging.getLogger("commutepass.test").warning("swipe writer slow", extra={"batch": 12})
    finally:
        observe.request_id.reset(token)
        root.handlers, _ = saved[0], root.setLevel(saved[1])
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "swipe writer slow" and line["request_id"] == "abc123"
    assert line["level"] == "WARNING" and line["logger"] == "commutepass.test" and line["batch"] == 12
