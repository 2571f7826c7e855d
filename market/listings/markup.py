"""Listing descriptions are Markdown written by organisations: rendered once when saved, sanitised with nh3.

The HTML is stored beside the source (``Listing.description_html``, ``ListingRevision.description_html``)
and pages show the stored HTML: user markup is never rendered per request (issue 8, item 1).

Rendering is bounded. The parser is markdown-it-py (CommonMark plus tables and strikethrough),
whose work grows linearly with the input, and :func:`check` refuses, in one linear pass, what no
real description contains: brackets or parentheses left open more than ``MAX_BRACKET_DEPTH`` deep,
lists and quotes nested more than ``MAX_BLOCK_DEPTH`` deep, more than ``MAX_STRUCTURE`` lines and
table cells (which bounds the parser's output, about 4 µs a token). Forms, the importer and revisions all
go through ``fields.clean``, which calls :func:`check`; :func:`render` never fails (input that does
not pass the check, e.g. an old row, is shown as escaped plain text).

Raw HTML in the source is passed to nh3's allow-list (scripts, styles, event handlers and
``javascript:`` links are dropped); links get ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import functools
import html as html_lib

import nh3
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "del", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}

MAX_BRACKET_DEPTH = 32  # [ or ( still open at one point
MAX_BLOCK_DEPTH = 16  # nested lists and block quotes
MAX_STRUCTURE = 3000  # non-blank lines plus table cell separators: bounds the parser's output tokens
_MAX_NESTING = 100  # markdown-it's own token nesting bound (a list level is two tokens deep)

_MD = MarkdownIt("commonmark", {"html": True, "maxNesting": _MAX_NESTING}).enable(["table", "strikethrough"])


class MarkupTooComplex(ValueError):
    """The source nests deeper than any description needs; ``message`` says what to change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _block_depth(line: str) -> int:
    """How many list / quote containers a line opens: markers in its prefix plus list indentation."""
    depth = 0
    i = 0
    n = len(line)
    indent = 0
    while i < n:
        ch = line[i]
        if ch == " ":
            indent += 1
            i += 1
        elif ch == "\t":
            indent += 4
            i += 1
        elif ch == ">":
            depth += 1
            i += 1
        elif ch in "-+*" and (i + 1 == n or line[i + 1] in " \t"):
            depth += 1
            i += 1
        elif ch.isdigit():
            j = i
            while j < n and j - i < 10 and line[j].isdigit():
                j += 1
            if j < n and line[j] in ".)" and (j + 1 == n or line[j + 1] in " \t"):
                depth += 1
                i = j + 1
            else:
                break
        else:
            break
    if depth:  # an indented list item sits inside the items above it (two spaces a level)
        depth += indent // 2
    return depth


def _problem(text: str) -> str | None:
    """Which limit ``text`` breaks ("square", "paren", "block"), or None. One linear pass, no translation."""
    square = paren = 0
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            square += 1
            if square > MAX_BRACKET_DEPTH:
                return "square"
        elif ch == "]":
            square = max(0, square - 1)
        elif ch == "(":
            paren += 1
            if paren > MAX_BRACKET_DEPTH:
                return "paren"
        elif ch == ")":
            paren = max(0, paren - 1)
    lines = text.splitlines()
    for line in lines:
        if _block_depth(line) > MAX_BLOCK_DEPTH:
            return "block"
    if sum(1 for line in lines if line.strip()) + text.count("|") > MAX_STRUCTURE:
        return "structure"
    return None


def check(text: str | None) -> None:
    """Refuse sources whose nesting no description needs (one linear pass). Raises MarkupTooComplex."""
    problem = _problem(text) if text else None
    if problem == "square":
        raise MarkupTooComplex(_(
            "描述中的标记嵌套过深：有超过 %(n)d 层未闭合的方括号“[”。请删除多余的括号，或在括号前加反斜杠“\\”。",
            n=MAX_BRACKET_DEPTH,
        ))
    if problem == "paren":
        raise MarkupTooComplex(_(
            "描述中的标记嵌套过深：有超过 %(n)d 层未闭合的圆括号“(”。请删除多余的括号，或在括号前加反斜杠“\\”。",
            n=MAX_BRACKET_DEPTH,
        ))
    if problem == "block":
        raise MarkupTooComplex(_("描述中的标记嵌套过深：列表或引用嵌套超过 %(n)d 层。请减少嵌套层数。", n=MAX_BLOCK_DEPTH))
    if problem == "structure":
        raise MarkupTooComplex(_(
            "描述的结构过于复杂：行数与表格单元格合计超过 %(n)d。请精简内容，或把大表格作为附件上传。", n=MAX_STRUCTURE,
        ))


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


def _plain_paragraphs(text: str) -> str:
    """Escaped text in paragraphs: how a source that fails :func:`check` is shown (linear)."""
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    return "".join(f"<p>{escape(b)}</p>" for b in blocks if b)


@functools.lru_cache(maxsize=32)  # clean() checks and apply() stores the same text in one save
def render(text: str | None) -> str:
    """The sanitised HTML of a description, to store beside it. Never raises on odd input."""
    if not text:
        return ""
    text = str(text)
    if _problem(text) is not None:
        return _clean(_plain_paragraphs(text))
    return _clean(_MD.render(text))


def render_markdown(text: str | None) -> Markup:
    """:func:`render` as Markup (for code that renders at save time; templates show stored HTML)."""
    return Markup(render(text))  # noqa: S704 - sanitised by nh3 in render()


def excerpt(stored_html: str | None, length: int = 120) -> str:
    """A plain-text excerpt of stored description HTML (for cards); escaped by Jinja when shown."""
    if not stored_html:
        return ""
    plain = " ".join(html_lib.unescape(nh3.clean(stored_html, tags=set())).split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"


def plain_excerpt(text: str | None, length: int = 120) -> str:
    """A plain-text excerpt of a Markdown source (rendered with the bounded renderer)."""
    return excerpt(render(text), length)

