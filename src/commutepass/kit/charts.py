"""Charts for the pages: SVG drawn on the server by pygal and inlined in the page, with no script
and nothing fetched from another host (the pages work offline). One look for every chart."""

from __future__ import annotations

import pygal
from markupsafe import Markup
from pygal.style import Style

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


def config(**options: object) -> pygal.Config:
    """The common settings (900 × 360, legend below, no tooltips script), then ``options``."""
    made = pygal.Config()
    made.js = []  # no tooltips script: the pages work offline
    made.style = STYLE
    made.disable_xml_declaration = True
    made.width = 900
    made.height = 360
    made.legend_at_bottom = True
    made.truncate_legend = 40
    made.truncate_label = -1
    made.no_data_text = "—"
    for name, value in options.items():
        setattr(made, name, value)
    return made


def svg(chart: pygal.graph.graph.Graph) -> Markup:
    return Markup(chart.render(is_unicode=True))
