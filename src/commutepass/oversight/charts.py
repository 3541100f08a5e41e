"""Charts for the analyst's dashboard: SVG drawn on the server by pygal, inlined in the page,
with no script and nothing fetched from the internet."""

from __future__ import annotations

import pygal
from markupsafe import Markup

from commutepass.domain.reasons import CATALOG
from commutepass.kit import charts
from commutepass.oversight.dashboard import DayHolders, ReasonCount, SiteBuckets

TOP_SITES = 6


def entries_chart(sites: list[SiteBuckets], title: str) -> Markup:
    """Entries per 5 minutes for the busiest checkpoints, one line each."""
    shown = sites[:TOP_SITES]
    buckets = sorted({moment for site in shown for moment in site.counts})
    chart = pygal.Line(
        charts.config(x_label_rotation=0, show_minor_x_labels=False, x_labels_major_every=12, dots_size=2)
    )
    chart.title = title
    chart.x_labels = [moment.strftime("%H:%M") for moment in buckets]
    for site in shown:
        chart.add(site.site, [site.counts.get(moment, 0) for moment in buckets])
    return charts.svg(chart)


def holders_chart(holders: list[DayHolders], daily: str, weekly: str) -> Markup:
    chart = pygal.StackedBar(charts.config(show_minor_x_labels=False, x_labels_major_every=7))
    chart.x_labels = [h.day.strftime("%m-%d") for h in holders]
    chart.add(daily, [h.daily for h in holders])
    chart.add(weekly, [h.weekly for h in holders])
    return charts.svg(chart)


def reason_label(code: str, lang: str) -> str:
    entry = CATALOG.get(code)
    if entry is None:
        return code
    text = entry.zh if lang == "zh" else entry.en
    # reason texts may hold {placeholders} filled per person; the chart shows the code's gist
    return (text.split("{")[0].rstrip("：:，, ") or code)[:40]


def refusals_chart(refusals: list[ReasonCount], lang: str) -> Markup:
    chart = pygal.HorizontalBar(charts.config(height=max(200, 60 + 40 * len(refusals)), show_legend=False))
    chart.x_labels = [reason_label(r.code, lang) for r in refusals]
    chart.add("", [r.count for r in refusals])
    return charts.svg(chart)
