"""Flow per entry channel, on SQLite and PostgreSQL: the minute counts kept as swipes are stored
agree with the checks themselves (also with two servers writing at once), a swipe id sent twice
counts once, the warning rules open and resolve alerts, and the webhook outbox retries against a
real local receiver until it accepts, each message once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from commutepass.checks import service as checks
from commutepass.checks.service import Swipe
from commutepass.checks.writer import SwipeWriter
from commutepass.domain.decisions import Mode
from commutepass.flow import config, service
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.store.tables import checks as checks_table
from commutepass.store.tables import flow_minutes, outbox
from tests.helpers import at, make_id, open_app
from tests.webhook import webhook_receiver

OFFICER = audit.Actor("officer-1", "officer")
SITE = "武清站"


def _request(i: int, site: str = SITE, lane: str = "") -> checks.CheckRequest:
    return checks.CheckRequest(
        make_id("120114", serial=i % 50),
        at("2021-11-20T07:00") + timedelta(seconds=7 * i),
        site,
        Mode.RAIL,
        lane=lane,
    )


def _from_checks(app: App) -> Counter[tuple[str, datetime]]:
    """What a rescan of the checks would count, per site and minute."""
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(checks_table.c.site, checks_table.c.at)).all()
    return Counter((r.site, r.at.replace(second=0, microsecond=0)) for r in rows)


def _from_flow(app: App) -> Counter[tuple[str, datetime]]:
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(flow_minutes)).all()
    counted: Counter[tuple[str, datetime]] = Counter()
    for r in rows:
        counted[(r.site, r.minute)] += r.arrivals
        assert r.arrivals == r.entered + r.documents + r.refused
    return counted


def test_counts_follow_every_stored_swipe(app: App) -> None:
    for i in range(30):
        checks.check(app, _request(i, lane=f"G{i % 2 + 1}"))
    counted = _from_flow(app)
    assert counted == _from_checks(app)
    assert sum(counted.values()) == 30
    with app.engine.connect() as conn:
        lanes = Counter(
            {
                r.lane: r.arrivals
                for r in conn.execute(sa.select(flow_minutes.c.lane, flow_minutes.c.arrivals))
            }
        )
    assert set(lanes) == {"G1", "G2"}


def test_a_swipe_id_sent_twice_counts_once(app: App) -> None:
    decided = checks.decide(app, _request(1))
    swipe: Swipe = decided.swipe(checkpoint="cp-1")

    once = replace(swipe, swipe_id="00000000-0000-0000-0000-000000000001")
    with app.transaction() as conn:
        assert checks.record(conn, app, OFFICER, [once]) == [True]
    with app.transaction() as conn:
        assert checks.record(conn, app, OFFICER, [once]) == [False]
    assert sum(_from_flow(app).values()) == 1


def test_two_servers_count_into_the_same_minutes(app: App, tmp_path: Path, store_url: str) -> None:
    """Two Apps on one store (two servers), each with its own group-commit writer, writing at once."""
    other = open_app(tmp_path / "other", store_url)
    writers = [SwipeWriter(app), SwipeWriter(other)]
    decided = [checks.decide(app, _request(i, lane=f"G{i % 3}")) for i in range(300)]
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [
                pool.submit(lambda d, i: writers[i % 2].submit(d.swipe(), OFFICER).result(), d, i)
                for i, d in enumerate(decided)
            ]
            assert all(f.result() for f in futures)
    finally:
        for w in writers:
            w.close()
        other.close()
    assert _from_flow(app) == _from_checks(app)
    assert sum(_from_flow(app).values()) == 300


def test_flow_and_estimates_per_lane(app: App) -> None:
    for i in range(40):
        checks.check(app, _request(i, lane=f"G{i % 2 + 1}"))
    now = at("2021-11-20T07:04:59")
    (site,) = service.flow(app, now, SITE)
    assert site["lanes_open"] == 2
    assert site["arrivals_last_hour"] == 40
    assert [lane["lane"] for lane in site["lanes"]] == ["G1", "G2"]
    assert sum(lane["arrivals_last_hour"] for lane in site["lanes"]) == 40
    assert site["per_minute"]["arrivals"][-5:] == [9, 9, 8, 9, 5]
    assert site["refusal_rate"] == 1.0  # nobody here has a test result: all refused
    assert site["estimate"]["arrivals_per_minute"] == pytest.approx(40 / (4 + 59 / 60), abs=0.01)
    assert site["estimate"]["capacity_per_minute"] == 12.0


def test_silent_site_and_expiry_warnings(app: App) -> None:
    checks.check(app, _request(0, site="廊坊站"))
    quiet = at("2021-11-20T08:00")
    result = service.evaluate(app, quiet, expiries=[service.Expiry("trust-list", quiet + timedelta(hours=5))])
    live = {(a["rule"], a["site"]) for a in service.alerts(app, live_only=True)}
    assert ("silent-30-min", "廊坊站") in live
    assert ("expiry-48-h", "trust-list") in live
    assert len(result["opened"]) == len(live)
    # re-signed: the expiry alert resolves; the silent one stays until the site swipes again
    service.evaluate(app, quiet, expiries=[service.Expiry("trust-list", quiet + timedelta(days=30))])
    live = {(a["rule"], a["site"]) for a in service.alerts(app, live_only=True)}
    assert ("expiry-48-h", "trust-list") not in live
    assert ("silent-30-min", "廊坊站") in live
    # at night the station is closed (06:00–23:00): silence is expected
    night = at("2021-11-20T23:40")
    service.evaluate(app, night, expiries=None)
    assert ("silent-30-min", "廊坊站") not in {
        (a["rule"], a["site"]) for a in service.alerts(app, live_only=True)
    }


def test_the_outbox_retries_until_the_receiver_accepts_each_message_once(app: App) -> None:
    with webhook_receiver() as receiver:
        app.settings.alert_webhook_url = receiver.url
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        service.evaluate(
            app, at("2021-11-20T08:00"), expiries=[service.Expiry("snapshot", at("2021-11-20T09:00"))]
        )
        receiver.fail_next = 2
        assert service.deliver(app, t0) == {"sent": 0, "failed": 1}
        assert service.deliver(app, t0 + timedelta(seconds=5)) == {"sent": 0, "failed": 0}  # backing off
        assert service.deliver(app, t0 + timedelta(seconds=11)) == {"sent": 0, "failed": 1}
        assert service.deliver(app, t0 + timedelta(seconds=40)) == {"sent": 1, "failed": 0}
        assert service.deliver(app, t0 + timedelta(hours=2)) == {"sent": 0, "failed": 0}
        assert receiver.requests == 3
        assert [m["alert"]["site"] for m in receiver.accepted] == ["snapshot"]
        with app.engine.connect() as conn:
            (message,) = conn.execute(
                sa.select(outbox).where(outbox.c.channel == service.ALERTS_CHANNEL)
            ).all()
        assert message.attempts == 3 and message.sent_at is not None and message.last_error is None


def test_the_outbox_survives_a_receiver_that_is_down(app: App) -> None:
    app.settings.alert_webhook_url = "http://127.0.0.1:9/nothing-listens-here"
    service.evaluate(
        app, at("2021-11-20T08:00"), expiries=[service.Expiry("snapshot", at("2021-11-20T09:00"))]
    )
    assert service.deliver(app, datetime(2026, 1, 1, tzinfo=UTC)) == {"sent": 0, "failed": 1}
    with app.engine.connect() as conn:
        (message,) = conn.execute(sa.select(outbox).where(outbox.c.channel == service.ALERTS_CHANNEL)).all()
    assert message.sent_at is None and "ConnectError" in (message.last_error or "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[rule]]\nid = "a"\nkind = "wait"\n', "rule.0.wait.minutes: Field required"),
        ('[[rule]]\nid = "a"\nkind = "flood"\n', "rule.0: Input tag 'flood'"),
        (
            '[[rule]]\nid = "a"\nkind = "wait"\nminutes = 5\n[[rule]]\nid = "a"\nkind = "wait"\nminutes = 9\n',
            "rule ids repeat: a",
        ),
        ('[[rule]]\nid = "a"\nkind = "refusals"\nfactor = 0.5\n', "rule.0.refusals.factor"),
        ("[[rule]\n", "not valid TOML"),
    ],
)
def test_a_bad_rules_file_is_refused_with_where(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "warnings.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.FlowFileError) as caught:
        config.load_rules(path)
    assert "warnings.toml" in str(caught.value) and says in str(caught.value)


def test_a_bad_sites_file_is_refused_with_where(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text('[[site]]\nname = "X"\nlanes = ["A", "A"]\nper_lane_per_minute = 2\n', encoding="utf-8")
    with pytest.raises(
        config.FlowFileError, match=r"sites.toml: site.0.lanes: Value error, lane names repeat"
    ):
        config.load_sites(path)
    path.write_text(
        '[[site]]\nname = "X"\nlanes = ["A"]\nper_lane_per_minute = 2\nopens = "23:00"\ncloses = "06:00"\n',
        encoding="utf-8",
    )
    with pytest.raises(config.FlowFileError, match="opens 23:00 is not before closes 06:00"):
        config.load_sites(path)
