"""Who may see which person, and the audited ways of looking: status, look-ups, evidence rows.

A citizen sees themself and the family members they added; a hotline operator looks a person up
only with a stated reason; a reviewer sees what a decision needs. Every look-up of someone
else's data is appended to the audit log in the same transaction as the read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from commutepass.domain.clock import BEIJING, local_date, to_utc
from commutepass.domain.errors import InputError
from commutepass.domain.identity import ResidentId, mask_ids_in_text, parse_resident_id
from commutepass.domain.roles import Role
from commutepass.domain.workflows import require_reason
from commutepass.services import audit, commuters, decide
from commutepass.services.auth import Forbidden, User, household_of, people_of
from commutepass.services.context import App
from commutepass.store.facts import NAT_LOOKBACK
from commutepass.store.tables import (
    checks,
    commuter_entries,
    itinerary,
    nat_results,
    overrides,
    people,
    risk_periods,
    travel,
)


def person_id_of(conn: Connection, app: App, resident: ResidentId) -> int | None:
    row = conn.execute(select(people.c.id).where(people.c.person_key == app.vault.key(resident))).first()
    return None if row is None else int(row.id)


def check_citizen_may_see(conn: Connection, user: User, person_id: int | None) -> None:
    if user.role is Role.CITIZEN and (person_id is None or person_id not in people_of(conn, user)):
        raise Forbidden(
            "a citizen sees only themself and the family members they added",
            "市民只能查看本人及已添加的家人",
        )


def lookup_reason(user: User, reason: str | None, default: str) -> str:
    """Staff say why they look; a hotline operator must (the reason is audited)."""
    if user.role is Role.HOTLINE:
        return require_reason(reason or "")
    return mask_ids_in_text((reason or "").strip()[:1000]) or default


def authorise_lookup(
    app: App, user: User, id_number: str, at: datetime, reason: str | None, action: str
) -> None:
    """A citizen may look at themself or family only (else ``Forbidden``); a look at anyone
    else's data is audited as ``action``, with the reason."""
    resident = parse_resident_id(id_number)
    # a citizen's own look-up is not recorded; one of a family member is, with this reason
    why = lookup_reason(user, reason, "family member / 家人" if user.role is Role.CITIZEN else "review")
    with app.transaction() as conn:
        person_id = person_id_of(conn, app, resident)
        check_citizen_may_see(conn, user, person_id)
        if person_id is not None and person_id != user.person_id:
            audit.record(conn, app, user.actor, action, person_id, why, at=at.isoformat())


def status_for(app: App, user: User, id_number: str, at: datetime, reason: str | None) -> dict[str, Any]:
    """``/v1/status`` by role: a citizen for themself or family, staff with an audited reason."""
    authorise_lookup(app, user, id_number, at, reason, "status.lookup")
    return decide.status_of(app, id_number, at)


def evidence(conn: Connection, app: App, person_id: int, at: datetime) -> dict[str, Any]:
    """The rows a status at ``at`` was decided from: the database entries, NAT results in the
    window the rules read, trip-card days in the risk look-back with the risk periods they meet,
    the last entries, and the overrides."""
    policy = app.policies.in_force(at)
    t = to_utc(at)
    today = local_date(at)
    first_day = today - timedelta(days=policy.risk.lookback_days - 1)
    entries = conn.execute(
        select(commuter_entries)
        .where(commuter_entries.c.person_id == person_id)
        .order_by(commuter_entries.c.valid_from)
    ).all()
    nats = conn.execute(
        select(nat_results)
        .where(
            nat_results.c.person_id == person_id,
            nat_results.c.reported_at <= t,
            nat_results.c.reported_at > t - NAT_LOOKBACK,
        )
        .order_by(nat_results.c.reported_at)
    ).all()
    visits = conn.execute(
        select(itinerary.c.day, itinerary.c.county)
        .where(itinerary.c.person_id == person_id, itinerary.c.day >= first_day, itinerary.c.day <= today)
        .order_by(itinerary.c.day)
    ).all()
    counties = sorted({v.county for v in visits})
    risks = (
        conn.execute(select(risk_periods).where(risk_periods.c.county.in_(counties))).all()
        if counties
        else []
    )
    entered = conn.execute(
        select(travel.c.event_time, travel.c.site, travel.c.mode)
        .where(travel.c.person_id == person_id, travel.c.direction == "enter", travel.c.event_time < t)
        .order_by(travel.c.event_time.desc())
        .limit(5)
    ).all()
    swipes = conn.execute(
        select(checks.c.at, checks.c.site, checks.c.decision)
        .where(checks.c.person_id == person_id, checks.c.at < t)
        .order_by(checks.c.at.desc())
        .limit(5)
    ).all()
    corrections = conn.execute(
        select(overrides).where(overrides.c.person_id == person_id).order_by(overrides.c.id)
    ).all()

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(BEIJING).isoformat() if value is not None else None

    return {
        "policy_version": policy.version,
        "commuter_entries": [
            {
                "source": e.source,
                "commuter_class": e.commuter_class,
                "valid_from": iso(e.valid_from),
                "valid_to": iso(e.valid_to),
                "reason": e.reason,
                "evidence": e.evidence,
                "end_reason": e.end_reason,
            }
            for e in entries
        ],
        "nat_results": [
            {
                "sampled_at": iso(n.sampled_at),
                "reported_at": iso(n.reported_at),
                "positive": n.positive,
                "lab": n.lab,
            }
            for n in nats
        ],
        "itinerary": [{"day": v.day.isoformat(), "county": v.county} for v in visits],
        "risk_periods": [
            {
                "county": r.county,
                "level": r.level,
                "start": r.start.isoformat(),
                "end": r.end.isoformat() if r.end else None,
            }
            for r in risks
        ],
        "recent_entries": [{"at": iso(e.event_time), "site": e.site, "mode": e.mode} for e in entered],
        "recent_checks": [{"at": iso(c.at), "site": c.site, "decision": c.decision} for c in swipes],
        "overrides": [
            {
                "field": o.field,
                "valid_from": iso(o.valid_from),
                "valid_to": iso(o.valid_to),
                "reason": o.reason,
                "appeal_id": o.appeal_id,
            }
            for o in corrections
        ],
    }


def household(app: App, user: User) -> list[tuple[int, str]]:
    """(person id, masked ID) of a citizen and the family members they added, self first."""
    with app.engine.connect() as conn:
        return [(person_id, masked_id(conn, person_id)) for person_id in household_of(conn, user)]


def masked_id(conn: Connection, person_id: int) -> str:
    return str(conn.execute(select(people.c.id_masked).where(people.c.id == person_id)).scalar_one())


def id_number_of(conn: Connection, app: App, person_id: int) -> str:
    """The raw number, decrypted from the vault, for services that must call ID-based code."""
    cipher = conn.execute(select(people.c.id_cipher).where(people.c.id == person_id)).scalar_one()
    return app.vault.decrypt(str(cipher))


def require_person(person_id: int | None) -> int:
    if person_id is None:
        raise InputError("id_number", "nobody with this ID number is on record", "没有此身份证号的记录")
    return person_id


def enrol(app: App, actor: audit.Actor, id_number: str, **entry: Any) -> dict[str, Any]:
    """A reviewer (API) or an operator (CLI) enrols a person by hand (``commuters.add_commuter``),
    audited with the entry."""
    with app.transaction() as conn:
        added = commuters.add_commuter(app, id_number, conn=conn, **entry)
        person_id = person_id_of(conn, app, parse_resident_id(id_number))
        audit.record(conn, app, actor, "commuter.add", person_id, added["reason"], source=added["source"])
    return added


def list_commuters(app: App, user: User, as_of: datetime) -> list[dict[str, Any]]:
    with app.transaction() as conn:
        audit.record(
            conn, app, user.actor, "commuters.list", None, "database listing", as_of=as_of.isoformat()
        )
    return commuters.list_commuters(app, as_of)


def identify_audited(
    app: App, actor: audit.Actor, as_of: date, window_days: int | None, engine: str = "duckdb"
) -> dict[str, Any]:
    """An identification run (``commuters.identify``), with its summary in the audit log."""
    summary = commuters.identify(app, as_of, window_days, engine).as_dict()
    with app.transaction() as conn:
        audit.record(conn, app, actor, "commuters.identify", None, f"as of {as_of.isoformat()}", **summary)
    return summary
