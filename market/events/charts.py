"""KPI charts as server-rendered SVG (pygal): no JavaScript, no CDN.

pygal embeds a <script> tag (its tooltips) and <style>; the CSP forbids inline scripts on our pages,
so charts are served as their own image responses (``<img src>``), rendered with ``js=[]`` and
without the XML declaration, and any <script> element left is stripped.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from flask_babel import gettext as _

_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.S | re.I)


def _pygal():
    """pygal, without the import hook it appends to ``sys.meta_path`` on import (``PluginImportFixer``,
    for its old ``pygal.maps`` plugin names): the hook lacks ``find_spec``, so every later import in
    the process raised an ImportWarning (an error under pytest's warning filter)."""
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


def _style():
    from pygal.style import Style

    return Style(background="white", plot_background="white", font_family="sans-serif",
                 colors=("#0d6efd", "#adb5bd", "#198754", "#fd7e14", "#6f42c1"))


def _config(**extra: Any) -> dict[str, Any]:
    return dict(js=[], disable_xml_declaration=True, style=_style(), width=640, height=320,
                legend_at_bottom=True, print_values=True, show_y_guides=True, **extra)


def render(name: str, years: list, plan: dict[str, Any]) -> str:
    pygal = _pygal()
    labels = [r.key for r in years]
    if name == "events":
        chart = pygal.Bar(**_config(title=_("每年举办的对接会（目标 %(n)d 场）", n=plan["events_per_year"])))
        chart.x_labels = labels
        chart.add(_("已举办"), [r.events_held for r in years])
        chart.add(_("目标"), [plan["events_per_year"] for _r in years])
    elif name == "scenarios":
        chart = pygal.Bar(**_config(title=_("平均每场开放场景（目标 %(n)d+）", n=plan["target_scenarios"])))
        chart.x_labels = labels
        chart.add(_("平均场景数"), [round(r.scenarios_total / len(r.scenarios), 1) if r.scenarios else 0 for r in years])
        chart.add(_("目标"), [plan["target_scenarios"] for _r in years])
    else:  # funnel: registrations -> meetings -> held -> follow-ups -> bids -> contracts
        chart = pygal.Bar(**_config(title=_("从报名到签约")))
        chart.x_labels = labels
        for label, key in ((_("报名企业"), "registrations"), (_("安排会谈"), "meetings"), (_("实际会谈"), "meetings_held"),
                           (_("后续跟进"), "follow_ups"), (_("签约"), "contracts")):
            chart.add(label, [getattr(r, key) for r in years])
    svg = chart.render(is_unicode=True)
    return _SCRIPT.sub("", svg)
