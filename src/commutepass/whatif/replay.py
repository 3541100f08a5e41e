"""The what-if re-decision of one item: a recorded check or a daily status, under two policies.

Pure: it calls the domain's own ``decide_check`` and ``assess_status`` (the functions a live check
calls) on facts read beforehand, so the local process pool and the Spark executors run exactly the
same code. Facts travel as JSON (``facts_json`` / ``facts_from_json``) between the reader and the
engine: in the Spark engine they sit in the lake, keyed by the store's row ids, never by an ID number.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import CheckOutcome, Mode, Status, assess_status, decide_check
from commutepass.domain.facts import (
    Membership,
    NatResult,
    Override,
    PersonFacts,
    RiskLevel,
    RiskMap,
    RiskPeriod,
    Source,
    Visit,
)
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.domain.reasons import explain, explain_check, render
from commutepass.domain.regions import RegionCatalog

# ── facts as JSON ──────────────────────────────────────────────────────────────────────────────


def _t(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _pt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def facts_json(facts: PersonFacts) -> str:
    """The facts as a JSON text (times in UTC ISO 8601): what the lake keeps per item."""
    m = facts.membership
    return json.dumps(
        {
            "b": facts.birth_date.isoformat(),
            "m": [m.commuter_class.value, m.source.value, _t(m.valid_from), m.home_county, m.evidence]
            if m
            else None,
            "n": [[_t(n.sampled_at), _t(n.reported_at), n.positive, n.lab] for n in facts.nats],
            "v": [[v.day.isoformat(), v.county] for v in facts.visits],
            "l": _t(facts.last_entry_at),
            "e": facts.entered_under_policy,
            "o": [
                [o.field, _t(o.valid_from), _t(o.valid_to), o.reason, o.appeal_id] for o in facts.overrides
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def facts_from_json(text: str) -> PersonFacts:
    d = json.loads(text)
    m = d["m"]
    membership = (
        Membership(CommuterClass(m[0]), Source(m[1]), _pt(m[2]) or datetime.min, m[3], m[4]) if m else None
    )
    return PersonFacts(
        birth_date=date.fromisoformat(d["b"]),
        membership=membership,
        nats=tuple(
            NatResult(_pt(s) or datetime.min, _pt(r) or datetime.min, bool(p), lab) for s, r, p, lab in d["n"]
        ),
        visits=tuple(Visit(date.fromisoformat(day), county) for day, county in d["v"]),
        last_entry_at=_pt(d["l"]),
        entered_under_policy=bool(d["e"]),
        overrides=tuple(
            Override(f, _pt(a) or datetime.min, _pt(b) or datetime.min, reason, appeal)
            for f, a, b, reason, appeal in d["o"]
        ),
    )


# ── risk periods as known at a horizon ─────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RiskVersionRow:
    """One recorded version of a risk period (the store's ``risk_periods`` row), in recorded order."""

    recorded_at: datetime
    county: str
    level: str
    start: date
    end: date | None


class RiskHistory:
    """Every recorded version of the risk periods, in recorded order: the map as known at any
    horizon is the latest version of each (county, level, start) among a prefix of this list, as
    ``store.repositories.risk_versions`` reads it. Maps are built once per prefix."""

    def __init__(self, rows: Sequence[RiskVersionRow], catalog: RegionCatalog) -> None:
        self.rows = tuple(rows)
        self._times = [r.recorded_at for r in self.rows]
        self._catalog = catalog
        self._maps: dict[int, RiskMap] = {}

    def prefix(self, known_at: datetime) -> int:
        """How many versions were recorded by ``known_at``."""
        return bisect.bisect_right(self._times, known_at)

    def at_prefix(self, prefix: int) -> RiskMap:
        found = self._maps.get(prefix)
        if found is None:
            latest: dict[tuple[str, str, date], RiskPeriod] = {}
            for r in self.rows[:prefix]:
                latest[(r.county, r.level, r.start)] = RiskPeriod(
                    r.county, RiskLevel(r.level), r.start, r.end
                )
            found = self._maps[prefix] = RiskMap.build(latest.values(), self._catalog)
        return found


# ── one item, re-decided under both policies ───────────────────────────────────────────────────

DIFF_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),  # check | status
        ("item", pa.string()),  # check:<check row id> | status:<person row id>:<day>
        ("check_id", pa.int64()),
        ("person", pa.string()),  # pseudonym: the first 16 hex digits of the person's keyed hash
        ("day", pa.date32()),  # Beijing calendar day
        ("at", pa.string()),  # Beijing time, ISO 8601
        ("site", pa.string()),
        ("mode", pa.string()),
        ("commuter_class", pa.string()),
        ("home_prefecture", pa.string()),
        ("recorded_decision", pa.string()),
        ("base_version", pa.string()),
        ("cand_version", pa.string()),
        ("base_decision", pa.string()),
        ("cand_decision", pa.string()),
        ("base_color", pa.string()),
        ("cand_color", pa.string()),
        ("base_popup", pa.string()),
        ("cand_popup", pa.string()),
        ("base_badge", pa.bool_()),
        ("cand_badge", pa.bool_()),
        ("base_reasons", pa.string()),
        ("cand_reasons", pa.string()),
        ("reasons_added", pa.string()),
        ("reasons_removed", pa.string()),
        ("changed", pa.bool_()),
        ("base_zh", pa.string()),
        ("base_en", pa.string()),
        ("cand_zh", pa.string()),
        ("cand_en", pa.string()),
    ]
)
"""One row per re-decided item: both answers side by side. No ID number, no person key in full."""


@dataclass(frozen=True, slots=True)
class Item:
    """A check or a daily status to re-decide, with the facts it needs (as known then)."""

    kind: str
    item: str
    check_id: int | None
    person: str
    at: datetime
    site: str | None
    mode: str | None
    smartphone: bool
    recorded_decision: str | None
    base_version: str
    risk_prefix: int
    base_facts: str
    cand_facts: str
    """JSON facts under each policy (the same text when the policies read the same slice)."""


def _codes(outcome: CheckOutcome | None, status: Status) -> list[str]:
    reasons = (*outcome.reasons, *status.reasons) if outcome is not None else status.reasons
    return [r.code for r in reasons]


def _explained(outcome: CheckOutcome | None, status: Status, policy: Policy) -> dict[str, str]:
    if outcome is not None:
        return explain_check(outcome, policy)
    return explain([render(r, policy) for r in status.reasons], policy)


def _prefecture(facts: PersonFacts, catalog: RegionCatalog) -> str:
    home = facts.membership.home_county if facts.membership else None
    if not home:
        return ""
    county = catalog.get(home)
    return f"{home[:4]} {county.prefecture_name}" if county else home[:4]


def redecide(
    item: Item, base: Policy, cand: Policy, risk: RiskHistory, catalog: RegionCatalog
) -> dict[str, Any]:
    """The diff row of one item: decided by the domain under ``base`` and under ``cand``."""
    risk_map = risk.at_prefix(item.risk_prefix)
    base_facts = facts_from_json(item.base_facts)
    cand_facts = base_facts if item.cand_facts == item.base_facts else facts_from_json(item.cand_facts)
    answers: list[tuple[CheckOutcome | None, Status]] = []
    for policy, facts in ((base, base_facts), (cand, cand_facts)):
        if item.kind == "check":
            outcome = decide_check(
                facts,
                policy,
                item.at,
                risk_map,
                catalog,
                mode=Mode(item.mode or Mode.ROAD.value),
                smartphone=item.smartphone,
            )
            answers.append((outcome, outcome.status))
        else:
            answers.append((None, assess_status(facts, policy, item.at, risk_map, catalog)))
    (bo, bs), (co, cs) = answers
    b_codes, c_codes = _codes(bo, bs), _codes(co, cs)
    b_decision = bo.decision.value if bo else None
    c_decision = co.decision.value if co else None
    changed = (
        b_decision != c_decision
        or bs.color != cs.color
        or bs.popup != cs.popup
        or bs.commuter_badge != cs.commuter_badge
    )
    row: dict[str, Any] = {
        "kind": item.kind,
        "item": item.item,
        "check_id": item.check_id,
        "person": item.person,
        "day": item.at.astimezone(BEIJING).date(),
        "at": item.at.astimezone(BEIJING).isoformat(timespec="minutes"),
        "site": item.site,
        "mode": item.mode,
        "commuter_class": bs.commuter_class.value if bs.commuter_class else "",
        "home_prefecture": _prefecture(base_facts, catalog),
        "recorded_decision": item.recorded_decision,
        "base_version": base.version,
        "cand_version": cand.version,
        "base_decision": b_decision,
        "cand_decision": c_decision,
        "base_color": bs.color.value,
        "cand_color": cs.color.value,
        "base_popup": bs.popup or "",
        "cand_popup": cs.popup or "",
        "base_badge": bs.commuter_badge,
        "cand_badge": cs.commuter_badge,
        "base_reasons": ",".join(b_codes),
        "cand_reasons": ",".join(c_codes),
        "reasons_added": ",".join(sorted(set(c_codes) - set(b_codes))),
        "reasons_removed": ",".join(sorted(set(b_codes) - set(c_codes))),
        "changed": changed,
        "base_zh": None,
        "base_en": None,
        "cand_zh": None,
        "cand_en": None,
    }
    if changed:  # the explanations side by side, only where something changed (they are long)
        b_text, c_text = _explained(bo, bs, base), _explained(co, cs, cand)
        row.update(base_zh=b_text["zh"], base_en=b_text["en"], cand_zh=c_text["zh"], cand_en=c_text["en"])
    return row


def redecide_all(
    items: Sequence[Item],
    policies: dict[str, Policy],
    candidate: Policy,
    risk: RiskHistory,
    catalog: RegionCatalog,
) -> pa.Table:
    """A partition's diff rows. ``policies``: the baseline versions by name; the candidate takes
    the effective time of the baseline it is compared with (see ``as_replacing``)."""
    rows = []
    replacing: dict[str, Policy] = {}
    for item in items:
        base = policies[item.base_version]
        cand = replacing.get(base.version)
        if cand is None:
            cand = replacing[base.version] = as_replacing(candidate, base)
        rows.append(redecide(item, base, cand, risk, catalog))
    return pa.Table.from_pylist(rows, schema=DIFF_SCHEMA)


def as_replacing(candidate: Policy, base: Policy) -> Policy:
    """The candidate as if it had taken effect when ``base`` did: "since the policy took effect"
    (a commuter's first check) counts from the same moment, so only the rules differ."""
    return candidate.model_copy(update={"effective_from": base.effective_from})


# ── items as Arrow (the lake's fact files and the process pool's hand-over) ──────────────────

ITEM_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("item", pa.string()),
        ("check_id", pa.int64()),
        ("person", pa.string()),
        ("at", pa.string()),
        ("site", pa.string()),
        ("mode", pa.string()),
        ("smartphone", pa.bool_()),
        ("recorded_decision", pa.string()),
        ("base_version", pa.string()),
        ("risk_prefix", pa.int64()),
        ("base_facts", pa.string()),
        ("cand_facts", pa.string()),
    ]
)
"""The fact files of the lake (``whatif/<run>/items/*.parquet``): keyed by the store's row ids."""


def items_table(items: Sequence[Item]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "kind": i.kind,
                "item": i.item,
                "check_id": i.check_id,
                "person": i.person,
                "at": _t(i.at),
                "site": i.site,
                "mode": i.mode,
                "smartphone": i.smartphone,
                "recorded_decision": i.recorded_decision,
                "base_version": i.base_version,
                "risk_prefix": i.risk_prefix,
                "base_facts": i.base_facts,
                "cand_facts": i.cand_facts,
            }
            for i in items
        ],
        schema=ITEM_SCHEMA,
    )


def items_of(table: pa.Table) -> list[Item]:
    return [
        Item(
            kind=r["kind"],
            item=r["item"],
            check_id=r["check_id"],
            person=r["person"],
            at=_pt(r["at"]) or datetime.min,
            site=r["site"],
            mode=r["mode"],
            smartphone=bool(r["smartphone"]),
            recorded_decision=r["recorded_decision"],
            base_version=r["base_version"],
            risk_prefix=int(r["risk_prefix"]),
            base_facts=r["base_facts"],
            cand_facts=r["cand_facts"],
        )
        for r in table.to_pylist()
    ]
