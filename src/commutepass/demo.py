"""``commutepass demo``: a small synthetic region, identification, sample people, the API."""

from __future__ import annotations

import csv
import secrets
import socket
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from commutepass.accounts import service as auth
from commutepass.checks import service as decide
from commutepass.checks.service import CHECK_BATCH_COLUMNS, check_batch
from commutepass.commuters import service as commuters
from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import InputError
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.render import home_of
from commutepass.kit.settings import Settings
from commutepass.loads.service import load_file
from commutepass.synth import write_region

DEMO_START = date(2021, 11, 1)
"""Four weeks around the 17 November 2021 rule, so both commuter checks (first and later) show."""


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {preferred}..{preferred + 49}")


Wanted = Callable[[dict[str, str], dict[str, Any]], bool]


def _codes(result: dict[str, Any]) -> set[str]:
    return {r["code"] for r in result["reasons"]} | {r["code"] for r in result["status_reasons"]}


SAMPLES: list[tuple[str, str | None, str, Wanted]] = [
    (
        "A daily road commuter with the badge / 有通勤标识的公路日常通勤者",
        None,
        "",
        lambda t, r: t["behaviour"] == "daily_road" and r["commuter_badge"] and r["decision"] == "allow",
    ),
    (
        "A commuter whose NAT stopped counting / 核酸过期、标识消失的通勤者",
        None,
        "",
        lambda t, r: r["commuter_class"] is not None and "BADGE_NAT_EXPIRED" in _codes(r),
    ),
    (
        "A weekly Tianjin–Beijing commuter at a rail station / 京津周末往返者（铁路）",
        None,
        "",
        lambda t, r: (
            t["behaviour"] == "weekly_fri_sun" and t["home_county"].startswith("12") and r["commuter_badge"]
        ),
    ),
    (
        "A commuter from a city with a case elsewhere (pop-up) / 同城其他区县有病例（弹窗）",
        None,
        "",
        lambda t, r: r["popup"] is not None and r["popup"]["code"] == "POPUP_TRAVEL_SAME_CITY",
    ),
    (
        "Someone who was in a county with a local case / 到过本土病例所在县",
        None,
        "",
        lambda t, r: "TRAVEL_CASE_COUNTY" in _codes(r),
    ),
    (
        "A weekly traveller from outside the ring area / 非环京地区的每周往返者",
        None,
        "",
        lambda t, r: t["behaviour"] == "far_weekly",
    ),
    (
        "An elderly person without a smartphone / 不使用智能手机的老年人",
        "road",
        "no-smartphone",
        lambda t, r: r.get("_age", 0) >= 60 and r["decision"] in ("allow", "refuse"),
    ),
    (
        "An infant travelling with a companion / 3岁及以下婴幼儿与同行人",
        "road",
        "infant",
        lambda t, r: r.get("_age", 99) <= 3 and r["decision"] == "allow",
    ),
]


def _age(id_number: str, on: date) -> int:
    birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _pick_samples(
    app: App, truth: list[dict[str, str]], moment: datetime
) -> list[tuple[str, dict[str, str], dict[str, Any], decide.CheckRequest]]:
    """Find, for each sample, the first synthetic person whose real decision shows it."""
    found: list[tuple[str, dict[str, str], dict[str, Any], decide.CheckRequest]] = []
    adults = [t for t in truth if 18 <= _age(t["id_number"], moment.date()) < 60][:300]
    for title, mode, special, wanted in SAMPLES:
        for person in truth:
            age = _age(person["id_number"], moment.date())
            if (special == "infant" and age > 3) or (special == "no-smartphone" and age < 60):
                continue
            for companion in adults if special == "infant" else [None]:
                request = decide.CheckRequest(
                    id_number=person["id_number"],
                    at=moment,
                    site=person["site"],
                    mode=decide.parse_mode(mode or person["mode"]),
                    smartphone=special != "no-smartphone",
                    companions=(companion["id_number"],) if companion else (),
                )
                result = decide.preview(app, request)
                if wanted(person, {**result, "_age": age}):
                    break
            else:
                continue
            found.append((title, person, result, request))
            break
    return found


REPLAY_DAYS = 7


def replay_entries(app: App, travel_file: Path, first: date, last: date) -> Counter[str]:
    """Swipe every entry of the travel file between ``first`` and ``last`` through the checkpoint
    service, in time order (the checks are recorded as swipes, as at a real checkpoint)."""
    rows = []
    with travel_file.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if (
                row["direction"] == "enter"
                and first.isoformat() <= row["event_time"][:10] <= last.isoformat()
            ):
                rows.append((row["event_time"], row["id_number"], row["site"], row["mode"]))
    rows.sort()
    batch = travel_file.with_name("replay-checks.csv")
    with batch.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHECK_BATCH_COLUMNS)
        for event_time, id_number, site, mode in rows:
            writer.writerow((id_number, event_time, site, mode, "true", ""))
    return Counter(str(line.get("decision", "error")) for line in check_batch(app, batch))


def _demo_users(app: App, citizen_id: str) -> list[tuple[Role, str, str]]:
    """One user per role with a fresh random password (a rerun sets a new one): role, name, password."""
    made = []
    for role in Role:
        username = f"demo-{role.value}"
        password = secrets.token_urlsafe(12)
        try:
            auth.add_user(
                app, username, password, role, id_number=citizen_id if role is Role.CITIZEN else None
            )
        except InputError:
            auth.set_password(app, username, password)
        made.append((role, username, password))
    return made


def run_demo(settings: Settings, *, people: int, days: int, port: int, serve: bool) -> None:
    region_dir = settings.data_dir / "demo-region"
    _say(f"commutepass demo — data directory {settings.data_dir.resolve()}")
    _say(f"1. Building a synthetic ring-Beijing region: {people} people, {days} days from {DEMO_START} …")
    region = write_region(region_dir, people=people, days=days, start=DEMO_START, seed=7)
    _say(f"   {region.people} people, {region.travel_rows} passages → {region_dir}")
    app = App.open(settings)
    _say("2. Loading travel, NAT, itinerary and risk files into the embedded store …")
    for kind in ("travel", "nat", "itinerary", "risk"):
        summary = load_file(app, kind, region.files[kind], progress=True)
        _say(
            f"   {kind:9} {summary.rows:>7} rows, {summary.added:>7} added, {summary.duplicate:>6} already there, {summary.rejected} rejected"
        )
    end = DEMO_START + timedelta(days=days - 1)
    _say("3. Identifying commuters from the travel records, once a week as the days go by …")
    for as_of in (end - timedelta(days=14), end - timedelta(days=7), end):
        ident = commuters.identify(app, as_of)
        _say(
            f"   as of {as_of}: {ident.people_seen} travellers; added {ident.added}, "
            f"class changed {ident.changed_class}, revoked {ident.revoked}, unchanged {ident.unchanged}"
        )
    moment = datetime.combine(end + timedelta(days=1), time(7, 30), tzinfo=BEIJING)
    replayed = replay_entries(app, region.files["travel"], end - timedelta(days=REPLAY_DAYS - 1), end)
    counts = ", ".join(f"{decision} {n}" for decision, n in sorted(replayed.items()))
    _say(f"   replayed the last {REPLAY_DAYS} days' entries at the checkpoints: {counts}")
    with region.files["truth"].open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    _say(f"4. What sample people get at {moment:%Y-%m-%d %H:%M} (Beijing time), and why:")
    for title, person, result, request in _pick_samples(app, truth, moment):
        _say("")
        _say(f"── {title}")
        _say(f"   ID {person['id_number']}  ({person['behaviour']}, {person['site']})")
        badge = "通勤 ✓" if result["commuter_badge"] else "no badge"
        popup = f", pop-up {result['popup']['code']}" if result["popup"] else ""
        _say(
            f"   decision: {result['decision']}   code: {result['color']}{popup}   {badge}   class: {result['commuter_class']}"
        )
        _say(f"   中文：{result['explanation']['zh']}")
        _say(f"   English: {result['explanation']['en']}")
        flags = " --no-smartphone" if not request.smartphone else ""
        flags += "".join(f" --companion {c}" for c in request.companions)
        _say(
            f"   try: commutepass --data-dir {settings.data_dir} check {person['id_number']} "
            f"--at {moment:%Y-%m-%dT%H:%M} --site {request.site} --mode {request.mode.value}{flags}"
        )
    commuter = next((t for t in truth if t["behaviour"] == "daily_road"), truth[0])
    sign_ins = _demo_users(app, commuter["id_number"])
    app.close()
    if not serve:
        return
    chosen = _free_port(port)
    _say("")
    base = f"http://127.0.0.1:{chosen}"
    _say(f"5. Serving the pages and the API; the clock is held at {moment:%Y-%m-%d %H:%M} (Beijing time).")
    _say(f"   Sign in at {base}/login — one user per role / 各角色登录账号:")
    for role, username, password in sign_ins:
        _say(f"   {role.value:<9} {username:<14} password {password:<17} → {base}{home_of(role)}")
    _say(f"   API (OpenAPI) {base}/docs  (POST /v1/auth/token with the same names and passwords)")
    _say("   (Ctrl-C to stop)")
    from commutepass.app import run

    run(settings.model_copy(update={"now": moment}), host="127.0.0.1", port=chosen)
