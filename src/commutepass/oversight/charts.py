"""Charts for the analyst's dashboard: SVG drawn on the server by pygal, inlined in the page,
with no script and nothing fetched from the internet."""

from __future__ import annotations

import pygal
from markupsafe import Markup
from pygal.style import Style

from commutepass.domain.reasons import CATALOG
from commutepass.oversight.dashboard import DayHolders, ReasonCount, SiteBuckets

TOP_SITES = 6
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#555555",
    font_family="'Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif",
    colors=("#005a9c", "#c0392b", "#1e7b34", "#8e44ad", "#b9770e", "#2c3e50"),
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
)


def _config(**options: object) -> pygal.Config:
    config = pygal.Config()
    config.js = []  # no tooltips script: the pages work offline
    config.style = STYLE
    config.disable_xml_declaration = True
    config.width = 900
    config.height = 360
    config.legend_at_bottom = True
    config.truncate_legend = 40
    config.truncate_label = -1
    config.no_data_text = "—"
    for name, value in options.items():
        setattr(config, name, value)
    return config


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    return Markup(chart.render(is_unicode=True))


def entries_chart(sites: list[SiteBuckets], title: str) -> Markup:
    """Entries per 5 minutes for the busiest checkpoints, one line each."""
    shown = sites[:TOP_SITES]
    buckets = sorted({moment for site in shown for moment in site.counts})
    chart = pygal.Line(
        _config(x_label_rotation=0, show_minor_x_labels=False, x_labels_major_every=12, dots_size=2)
    )
    chart.title = title
    chart.x_labels = [moment.strftime("%H:%M") for moment in buckets]
    for site in shown:
        chart.add(site.site, [site.counts.get(moment, 0) for moment in buckets])
    return _svg(chart)


def holders_chart(holders: list[DayHolders], daily: str, weekly: str) -> Markup:
    chart = pygal.StackedBar(_config(show_minor_x_labels=False, x_labels_major_every=7))
    chart.x_labels = [h.day.strftime("%m-%d") for h in holders]
    chart.add(daily, [h.daily for h in holders])
    chart.add(weekly, [h.weekly for h in holders])
    return _svg(chart)


def reason_label(code: str, lang: str) -> str:
    entry = CATALOG.get(code)
    if entry is None:
        return code
    text = entry.zh if lang == "zh" else entry.en
    # reason texts may hold {placeholders} filled per person; the chart shows the code's gist
    return (text.split("{")[0].rstrip("：:，, ") or code)[:40]


def refusals_chart(refusals: list[ReasonCount], lang: str) -> Markup:
    chart = pygal.HorizontalBar(_config(height=max(200, 60 + 40 * len(refusals)), show_legend=False))
    chart.x_labels = [reason_label(r.code, lang) for r in refusals]
    chart.add("", [r.count for r in refusals])
    return _svg(chart)
