"""Text normalisation shared by indexing and querying, plus snippet highlighting.

Both sides of the index see the same text: NFKC (full-width letters and digits become ASCII),
lower case, traditional characters converted to simplified (zhconv). A query typed as 掃描電鏡 or
ＳＥＭ therefore meets documents written as 扫描电镜 or SEM.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

import zhconv

_SPACE = re.compile(r"\s+")
# Linear on any input (issue 8): a label or URL stops at the next bracket and a line prefix at the
# line's end, so 20,000 "[" or blank lines are one pass, not one scan to the end per character.
_MD = re.compile(r"!\[[^\[\]]*\]\([^()]*\)|\[([^\[\]]*)\]\([^()]*\)|^[ \t]*(?:#+|>+|[-+*]|\d+\.)[ \t]+|[*_`~|]{1,3}", re.M)


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


def _simplified(run: re.Match) -> str:
    """A run of Chinese characters in simplified script: a run written in traditional characters
    also gets the mainland's words for it (軟體 -> 软件, 資料庫 -> 数据库); a run already simplified
    keeps its words (晶片 is a wafer or a die, not 芯片; 滑鼠 stays), so a lexicon group means what
    it says."""
    text = run.group()
    hans = zhconv.convert(text, "zh-hans")
    return hans if hans == text else zhconv.convert(text, "zh-cn")


def normalize(text: str | None) -> str:
    """NFKC, lower case, simplified Chinese (``_simplified``), single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    hans = zhconv.convert(text, "zh-hans")
    text = hans if hans == text else _CJK_RUN.sub(_simplified, text)  # one pass when nothing is traditional
    return _SPACE.sub(" ", text).strip()


@functools.lru_cache(maxsize=20000)
def _norm_char(ch: str) -> str:
    out = unicodedata.normalize("NFKC", ch).lower()
    return zhconv.convert(out, "zh-cn") if out else out


def plain_text(markdown: str | None) -> str:
    """Markdown reduced to readable plain text for snippets (link texts kept, markup dropped)."""
    if not markdown:
        return ""
    text = _MD.sub(lambda m: m.group(1) or " ", markdown)
    return _SPACE.sub(" ", text).strip()


class _NormTable(dict):
    """``str.translate`` table filled on demand with :func:`_norm_char` (C-speed after first sight)."""

    def __missing__(self, code: int) -> str:
        normalised = _norm_char(chr(code))
        if len(normalised) != 1:
            _NOT_ONE_TO_ONE.add(chr(code))
        self[code] = normalised
        return normalised


_NOT_ONE_TO_ONE: set[str] = set()
_TABLE = _NormTable()


def _normalized_with_map(text: str) -> tuple[str, list[int] | range]:
    """The normalised text and, for each of its characters, the index of the original character."""
    norm = text.translate(_TABLE)
    if _NOT_ONE_TO_ONE.isdisjoint(text):  # the usual case: character i stays at position i
        return norm, range(len(text))
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        n = _norm_char(ch)
        out.append(n)
        index.extend([i] * len(n))
    return "".join(out), index


def _match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` (original characters) where any normalised term occurs, merged."""
    norm, index = _normalized_with_map(text)
    spans: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        start = 0
        while True:
            pos = norm.find(term, start)
            if pos < 0:
                break
            spans.append((index[pos], index[pos + len(term) - 1] + 1))
            start = pos + len(term)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def highlight(text: str, terms: list[str], width: int = 0) -> str:
    """HTML-escaped ``text`` with every occurrence of ``terms`` wrapped in <mark>.

    With ``width``, a window of about that many characters around the first match (or the start).
    Nothing but <mark> is ever emitted unescaped.
    """
    text = text or ""
    spans = _match_spans(text, terms)
    lo, hi = 0, len(text)
    if width and len(text) > width:
        first = spans[0][0] if spans else 0
        lo = max(0, first - width // 4)
        hi = min(len(text), lo + width)
        lo = max(0, min(lo, hi - width))
    parts: list[str] = ["…" if lo > 0 else ""]
    cursor = lo
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        a, b = max(a, lo), min(b, hi)
        parts.append(html.escape(text[cursor:a]))
        parts.append(f"<mark>{html.escape(text[a:b])}</mark>")
        cursor = b
    parts.append(html.escape(text[cursor:hi]))
    if hi < len(text):
        parts.append("…")
    return "".join(parts)
