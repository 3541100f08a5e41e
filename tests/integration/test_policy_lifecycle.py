"""The policy lifecycle (issue 11), on both engines: upload (validated, every error with its line
and field, nothing stored on error), diff against the version in force, schedule, withdraw,
discard, audited; the book is read from the store and another server sees a change within a
second; a check exactly at the effective instant, and two versions scheduled close together."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from commutepass.checks.service import status_of
from commutepass.domain.errors import InputError
from commutepass.domain.policy_authoring import PolicyUploadError
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.oversight import policy_versions as pv
from commutepass.store.tables import audit_log, policy_versions
from tests.helpers import make_id, open_app

SHIPPED = (Path(__file__).resolve().parents[2] / "src/commutepass/policies/2021-11-17.toml").read_text(
    encoding="utf-8"
)
ADMIN = audit.Actor("admin1", "admin")
PERSON = make_id("131082", date(1986, 8, 8), 601)


def candidate(version: str, effective: datetime, **replace: str) -> str:
    text = SHIPPED.replace('version = "2021-11-17"', f'version = "{version}"').replace(
        "effective_from = 2021-11-17T00:00:00+08:00", f"effective_from = {effective.isoformat()}"
    )
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _stored(app: App) -> tuple[int, int]:
    with app.engine.connect() as conn:
        versions = conn.execute(select(func.count()).select_from(policy_versions)).scalar_one()
        audited = conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action.like("policy.%"))
        ).scalar_one()
    return versions, audited


def _soon(seconds: float = 3600) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ('version = "x"\nnat = [', "toml", 2),
        (
            lambda t: t.replace(
                "entry_window_hours = 48", "entry_window_hours = 48\nentry_window_minutes = 5"
            ),
            "nat.entry_window_minutes",
            None,
        ),
        (
            lambda t: t.replace("entry_window_hours = 48", "entry_window_hours = -48"),
            "nat.entry_window_hours",
            None,
        ),
        (
            lambda t: t.replace(
                'prefectures = ["1310", "1306", "1307", "1308"]', 'prefectures = ["1310", "9999"]'
            ),
            "ring_area.prefectures",
            None,
        ),
    ],
    ids=["syntax", "unknown-parameter", "negative-hours", "unknown-prefecture"],
)
def test_a_bad_upload_names_line_and_field_and_stores_nothing(
    app: App, text: object, field: str, line: int | None
) -> None:
    body = text(candidate("2031-01-01", _soon())) if callable(text) else str(text)
    before = _stored(app)
    with pytest.raises(PolicyUploadError) as bad:
        pv.upload(app, ADMIN, body)
    problem = bad.value.problems[0]
    assert problem.field == field
    expected_line = line or next(
        n for n, content in enumerate(body.splitlines(), start=1) if field.split(".")[-1] in content
    )
    assert problem.line == expected_line, (problem, body.splitlines()[expected_line - 1])
    assert problem.en and problem.zh
    assert _stored(app) == before


def test_overlapping_effective_times_are_refused(app: App) -> None:
    at = _soon()
    pv.upload(app, ADMIN, candidate("2031-01-01", at))
    pv.schedule(app, ADMIN, "2031-01-01")
    before = _stored(app)
    with pytest.raises(PolicyUploadError) as same:
        pv.upload(app, ADMIN, candidate("2031-02-01", at))
    assert same.value.problems[0].field == "effective_from"
    assert "2031-01-01" in same.value.problems[0].en
    assert same.value.problems[0].line == next(
        n for n, c in enumerate(SHIPPED.splitlines(), start=1) if c.startswith("effective_from")
    )
    with pytest.raises(PolicyUploadError) as past:
        pv.upload(app, ADMIN, candidate("2031-03-01", _soon(-60)))
    assert past.value.problems[0].field == "effective_from"
    assert _stored(app) == before


def test_the_lifecycle_is_audited_and_every_server_sees_it_within_a_second(
    app: App, tmp_path: Path, store_url: str
) -> None:
    other = open_app(tmp_path / "other", store_url)
    try:
        assert [p.version for p in other.policies.policies] == ["2020-02-14", "2021-11-17"]
        at = _soon(5)
        drafted = pv.upload(
            app,
            ADMIN,
            candidate(
                "2031-01-01",
                at,
                **{
                    "entry_window_hours = 48": "entry_window_hours = 24",
                    'prefectures = ["1310", "1306", "1307", "1308"]': 'prefectures = ["1310", "1306", "1309"]',
                },
            ),
        )
        assert drafted["state"] == "draft"
        diff = drafted["diff"]
        assert {"parameter": "nat.entry_window_hours", "in_force": 48, "candidate": 24} in diff["parameters"]
        assert [a["name"] for a in diff["ring_area"]["added"]] == ["沧州市"]
        assert {r["name"] for r in diff["ring_area"]["removed"]} == {"张家口市", "承德市"}
        # a draft is in nobody's book
        assert "2031-01-01" not in [p.version for p in app.policies.policies]
        pv.schedule(app, ADMIN, "2031-01-01")
        states = {v["version"]: v["state"] for v in pv.versions(app)}
        assert states == {"2020-02-14": "superseded", "2021-11-17": "in_force", "2031-01-01": "scheduled"}
        time.sleep(1.1)
        assert other.policies.in_force(at).version == "2031-01-01"
        # a check exactly at the effective instant is under the new version; a microsecond before, not
        assert status_of(other, PERSON, at)["policy_version"] == "2031-01-01"
        assert status_of(other, PERSON, at - timedelta(microseconds=1))["policy_version"] == "2021-11-17"
        # withdrawn before it takes effect: gone from every book
        with pytest.raises(InputError) as no_reason:
            pv.withdraw(app, ADMIN, "2031-01-01", " ")
        assert no_reason.value.field == "reason"
        pv.withdraw(app, ADMIN, "2031-01-01", "the ministry changed its mind")
        time.sleep(1.1)
        assert other.policies.in_force(at).version == "2021-11-17"
        with pytest.raises(InputError):
            pv.withdraw(app, ADMIN, "2021-11-17", "built-in")
        with pytest.raises(InputError):
            pv.schedule(app, ADMIN, "2031-01-01")  # a withdrawn version stays withdrawn
        pv.upload(app, ADMIN, candidate("2031-04-01", _soon(7200)))
        pv.discard(app, ADMIN, "2031-04-01")
        with app.engine.connect() as conn:
            actions = (
                conn.execute(
                    select(audit_log.c.action)
                    .where(audit_log.c.action.like("policy.%"))
                    .order_by(audit_log.c.seq)
                )
                .scalars()
                .all()
            )
        assert actions == [
            "policy.draft",
            "policy.schedule",
            "policy.withdraw",
            "policy.draft",
            "policy.discard",
        ]
        states = {v["version"]: v["state"] for v in pv.versions(app)}
        assert (states["2031-01-01"], states["2031-04-01"]) == ("withdrawn", "discarded")
    finally:
        other.close()


def test_two_versions_scheduled_close_together(app: App) -> None:
    first = _soon(600)
    second = first + timedelta(minutes=1)
    for version, at in (("2031-01-01", first), ("2031-01-02", second)):
        pv.upload(app, ADMIN, candidate(version, at))
        pv.schedule(app, ADMIN, version)
    book = app.policies
    assert book.in_force(first + timedelta(seconds=59)).version == "2031-01-01"
    assert book.in_force(second).version == "2031-01-02"
    assert book.effective_to(book.by_version("2031-01-01")) == second
