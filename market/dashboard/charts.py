"""Server-rendered SVG charts (pygal): no JavaScript, nothing from a CDN.

pygal embeds scripts for tooltips by default; ``js=[]`` leaves them out, the inline config script it
still writes is removed, and the XML declaration is dropped. The SVG is served as its own ``image/svg+xml`` response and
shown with ``<img src=...>``, so
the pages keep their CSP (no inline script or style); the SVG response carries a CSP of its own that
allows only the chart's embedded stylesheet.
"""

from __future__ import annotations

import math
import re
import sys

import pygal
from pygal.style import Style

# pygal appends a finder for its map plugins (``pygal.maps.*``, unused here) that lacks ``find_spec``:
# every later import then raises ImportWarning (an error under the test suite's -W error). Drop it.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

from .kpis import Series  # noqa: E402  (after the finder is dropped: nothing imported before it warns)

STYLE = Style(
    background="white", plot_background="white", font_family="sans-serif",
    colors=("#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#198754", "#6c757d"),
    label_font_size=11, major_label_font_size=11, legend_font_size=12, title_font_size=14,
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def render(s: Series, width: int = 640, height: int = 300) -> bytes:
    cls = pygal.Bar if s.kind == "bar" else pygal.Line
    chart = cls(
        js=[], disable_xml_declaration=True, style=STYLE, width=width, height=height, title=s.title,
        x_label_rotation=30 if len(s.labels) > 6 else 0, show_legend=len(s.series) > 1, legend_at_bottom=True,
        print_values=False, truncate_label=-1, dots_size=2,
        value_formatter=(lambda v: f"¥{v:,.0f}") if s.money else (lambda v: f"{v:,.0f}"),
    )
    chart.x_labels = s.labels
    if not s.money:  # counts: whole-number ticks (pygal would print 0.2, 0.4... rounded to 0 0 1 1)
        top = max((float(v) for values in s.series.values() for v in values), default=0)
        step = max(1, math.ceil(top / 5))
        chart.y_labels = list(range(0, int(top) + step + 1, step))
    for name, values in s.series.items():
        chart.add(name, [float(v) for v in values])
    out = chart.render()
    text = out.decode() if isinstance(out, bytes) else out
    # js=[] drops the tooltip scripts, but pygal still writes its config as an inline <script>: remove it
    # (the SVG's own CSP, default-src 'none', would refuse to run it anyway)
    return _SCRIPT.sub("", text).encode()
