"""The what-if report's charts: SVG drawn on the server by pygal and inlined in the page (no script,
nothing fetched from another host), as on the analyst's dashboard."""

from __future__ import annotations

from typing import Any

import pygal
from markupsafe import Markup

from commutepass.kit import charts

TOP = 10


def by_day(report: dict[str, Any], t: Any) -> Markup:
    """Changed checks and changed daily statuses per day, and the badges lost."""
    rows = report["by"]["day"]
    days = sorted({r["value"] for r in rows})
    chart = pygal.Bar(charts.config(height=340))
    chart.title = t("whatif.chart_day")
    chart.x_labels = days
    for kind, label in (("check", t("whatif.checks_changed")), ("status", t("whatif.statuses_changed"))):
        counts = {r["value"]: r["changed"] for r in rows if r["kind"] == kind}
        chart.add(label, [counts.get(d, 0) for d in days])
    lost = {d: sum(r["badges_lost"] for r in rows if r["value"] == d) for d in days}
    chart.add(t("whatif.badges_lost"), [lost[d] for d in days])
    return charts.svg(chart)


def transitions(report: dict[str, Any], t: Any) -> Markup:
    """Decision transitions of the checks (allow → refuse, …)."""
    chart = pygal.HorizontalBar(charts.config(height=340, show_legend=False))
    chart.title = t("whatif.chart_transitions")
    rows = [r for r in report["transitions"]["decision"] if r["kind"] == "check"][:TOP]
    chart.x_labels = [f"{r['from']} → {r['to']}" for r in rows]
    chart.add(t("whatif.checks"), [r["n"] for r in rows])
    return charts.svg(chart)


def by_dimension(report: dict[str, Any], name: str, title: str, t: Any) -> Markup:
    """Changed items (and newly refused checks) per value of a dimension, the largest first."""
    rows = sorted((r for r in report["by"][name] if r["changed"]), key=lambda r: (-r["changed"], r["value"]))[
        :TOP
    ]
    chart = pygal.HorizontalBar(charts.config(height=340))
    chart.title = title
    chart.x_labels = [f"{r['value'] or '—'} ({r['kind']})" for r in rows]
    chart.add(t("whatif.changed"), [r["changed"] for r in rows])
    chart.add(t("whatif.newly_refused"), [r["newly_refused"] for r in rows])
    return charts.svg(chart)
