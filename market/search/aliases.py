"""Aliases learned from the listings themselves, at index time.

A listing that writes ``扫描电子显微镜（SEM）`` teaches every other listing's search that SEM means
扫描电子显微镜. Patterns read here (on the raw title, tags and description):

* ``全称（缩写）`` and ``缩写（全称）`` — an abbreviation of two or more capitals (SEM, LC-MS/MS,
  BSL-2), or a Chinese short form whose characters occur in order in the full name and that ends
  like it (扫描电子显微镜（扫描电镜）);
* ``X，又称Y`` / ``X（简称Y）`` / ``俗称`` / ``也称`` / ``亦称``.

The full name is the run of characters before the bracket, with leading modifiers (场发射, 台式,
科研用 …) dropped. Pairs are grouped by the short form; a short form with more than four different
full names is ambiguous and dropped. ``services.merge_mined`` stores the groups as ``mined``
synonyms, shown on the synonyms page with the listings they came from.
"""

from __future__ import annotations

import re
from collections import defaultdict

from .text import normalize

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_RUN = rf"[{_CJK}A-Za-z0-9\-]*[{_CJK}][{_CJK}A-Za-z0-9\-]*"
_BRACKET = re.compile(rf"({_RUN}|[A-Za-z][A-Za-z0-9\-/+]*)\s*[（(]\s*([^（）()，,；;。]{{1,30}}?)\s*[）)]")
_CALLED = re.compile(rf"({_RUN})\s*[，,（(]?\s*(?:又称|简称|俗称|也称|亦称|又名)(?:为)?\s*[“\"「]?([{_CJK}A-Za-z0-9\-]{{2,15}})")
_ABBR = re.compile(r"^[A-Za-z][A-Za-z0-9\-/+]{1,15}$")
_CJK_ONLY = re.compile(rf"^[{_CJK}]+$")

# Leading words that qualify an instrument rather than name it (dropped from a mined full name).
MODIFIERS = (
    "场发射", "台式", "科研用", "全自动", "半自动", "自动", "高分辨", "高分辨率", "超高分辨", "双球差校正", "球差校正",
    "便携式", "便携", "进口", "国产", "大型", "小型", "高端", "新型", "多功能", "高通量", "高精度", "超高", "高速", "在线",
    "智能", "数字", "显微", "配备", "采用", "基于", "使用", "通过", "利用", "提供", "开展", "进行", "可做",
)
MAX_FULL = 16
MAX_FULLS = 4


def _is_abbr(text: str) -> bool:
    return bool(_ABBR.match(text)) and sum(c.isupper() for c in text) >= 2 and not text.isdigit()


# ... and the words of what an instrument is fitted with (电镜配能谱仪（EDS）: EDS is the 能谱仪, not 配能谱仪)
_JOINERS = frozenset("和 与 及 或 的 中 对 在 为 于 以及 用于 其 等 并 含 可 是 把 将 由 从 即 配 配有 配备 配套 搭载 带有 附带 内置 装有".split())
_LEADING_MEASURE = re.compile(r"^[0-9.]+\s*(?:米法|米|kv|mhz|t|层|台|套|个)?", re.I)


_trimmed: dict[tuple[str, int], str] = {}


def _trim(full: str) -> str:
    """The name: after the last joining word (和, 的, 用于 …), without leading modifiers or
    measures, at most MAX_FULL characters (from the end). The text before a bracket repeats
    (titles): cached per text and jieba dictionary state."""
    from .analysis import dictionary_version, init_jieba

    init_jieba()
    key = (full, dictionary_version())
    got = _trimmed.get(key)
    if got is None:
        got = _trim_uncached(full)
        if len(_trimmed) >= 100_000:
            _trimmed.clear()
        _trimmed[key] = got
    return got


def _trim_uncached(full: str) -> str:
    from .analysis import cut
    from .query import language_word

    words = cut(full.strip("-"), hmm=False)
    for i in range(len(words) - 1, -1, -1):
        if words[i] in _JOINERS:
            words = words[i + 1 :]
            break
    full = _LEADING_MEASURE.sub("", "".join(words)).strip("-")
    changed = True
    while changed:
        changed = False
        starts = _word_starts(full)
        for m in sorted(MODIFIERS, key=len, reverse=True):
            # only a whole word before a word (超高效液相色谱仪 is not 超高 + 效液相色谱仪), or before a name
            # the dictionary holds (场发射 + 扫描电子显微镜, which the lexicon makes one word)
            if full.startswith(m) and len(full) - len(m) >= 3 \
                    and (len(m) in starts or language_word(full[len(m):])):
                full = full[len(m):]
                changed = True
                break
    return full[-MAX_FULL:]


def _word_starts(text: str) -> set[int]:
    """Where the words of ``text`` start (jieba's dictionary cut, the lexicon's terms whole)."""
    from .analysis import cut

    starts, at = set(), 0
    for w in cut(text, hmm=False):
        starts.add(at)
        at += len(w)
    return starts


def _short_of(short: str, full: str) -> str | None:
    """The part of ``full`` that ``short`` abbreviates (its characters in order, same last one)."""
    if not (_CJK_ONLY.match(short) and 2 <= len(short) < len(full) and short[-1] == full[-1]):
        return None
    start = full.find(short[0])
    while start >= 0:
        i = start
        for ch in short:
            i = full.find(ch, i)
            if i < 0:
                break
            i += 1
        else:
            return full[start:]
        start = full.find(short[0], start + 1)
    return None


def pairs(text: str) -> list[tuple[str, str]]:
    """(short form, full name) pairs found in ``text`` (original case of the short form kept)."""
    out: list[tuple[str, str]] = []
    if not text or ("（" not in text and "(" not in text and "称" not in text and "名" not in text):
        return out
    # each pattern only where its bracket or its word can be (a regular expression scan per listing)
    for m in _BRACKET.finditer(text) if "（" in text or "(" in text else ():
        before, inside = m.group(1), m.group(2).strip()
        if _is_abbr(inside) and re.search(f"[{_CJK}]", before):
            full = _trim(before)
            if len(full) >= 2:
                out.append((inside, full))
        elif _is_abbr(before) and _CJK_ONLY.match(inside) and 2 <= len(inside) <= MAX_FULL:
            out.append((before, inside))
        elif _CJK_ONLY.match(inside):
            full = _trim(before)
            part = _short_of(inside, full)
            if part:
                out.append((inside, part))
    for m in _CALLED.finditer(text) if "称" in text or "又名" in text else ():
        full, alias = _trim(m.group(1)), m.group(2)
        if len(full) >= 2 and normalize(alias) != normalize(full):
            out.append((alias, full))
    return out


def mine_all(items) -> dict[str, dict]:
    """From ``(ref, text)`` items: {key: {"terms": [...], "source": "..."}}, one group per short form."""
    fulls: dict[str, dict[str, str]] = defaultdict(dict)
    shown: dict[str, str] = {}
    refs: dict[str, list[str]] = defaultdict(list)
    for ref, text in items:
        for short, full in pairs(text):
            key = normalize(short)
            nf = normalize(full)
            if not key or not nf or key == nf:
                continue
            shown.setdefault(key, short)
            fulls[key].setdefault(nf, full)
            if ref not in refs[key]:
                refs[key].append(ref)
    out: dict[str, dict] = {}
    for key, names in fulls.items():
        if len(names) > MAX_FULLS:
            continue  # one short form for many things: not an alias
        listed = refs[key]
        source = "、".join(listed[:5]) + (f" 等 {len(listed)} 条" if len(listed) > 5 else "")
        out[f"mined:{key}"[:200]] = {"terms": [shown[key], *names.values()], "source": source}
    return out
