"""Listing descriptions are Markdown written by organisations: rendered, then sanitised with nh3.

Raw HTML in the source is escaped by nh3's allow-list (scripts, styles, event handlers and
``javascript:`` links are dropped); links get ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "del", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    html = markdown.markdown(str(text), extensions=["tables", "sane_lists", "fenced_code"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def plain_excerpt(text: str | None, length: int = 120) -> str:
    """A plain-text excerpt of the description (for cards); escaped by Jinja when shown."""
    if not text:
        return ""
    html = markdown.markdown(str(text))
    plain = nh3.clean(html, tags=set())
    import html as html_lib

    plain = " ".join(html_lib.unescape(plain).split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"
