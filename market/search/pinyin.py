"""Pinyin for search: full syllables and initials, computed at index time for titles, tags and
owner names (pypinyin, ~150,000 characters/s), and on the query side only for what was typed.

Syllables are stored without tones and *fuzzy* (zh/ch/sh → z/c/s, -ng → -n: the usual
near-homophone confusions of a pinyin keyboard), so the typos 色普, 质普 and 电境 have the
syllables of 色谱, 质谱 and 电镜 (电境 dian jing ≈ 电镜 dian jing; 电今 dian jin too).

* :func:`syllables` — the fuzzy syllables of a text, Chinese runs only, with ``|`` between runs
  (the index tokenizer leaves a position gap there, so a phrase never spans two runs);
* :func:`initials` — the first letter of each Chinese character, same layout;
* :func:`segment` — a run of Latin letters split into valid syllables (``dianjing`` → dian jing),
  fewest syllables first, or None.
"""

from __future__ import annotations

import functools
import re

from pypinyin import lazy_pinyin

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


@functools.cache
def _valid() -> frozenset[str]:
    from pypinyin import pinyin_dict
    from pypinyin.contrib.tone_convert import to_normal

    out = set()
    for value in pinyin_dict.pinyin_dict.values():
        for p in value.split(","):
            n = to_normal(p).replace("ü", "v")
            if n.isascii() and n.isalpha() and re.search("[aeiouv]", n):
                out.add(n)
    return frozenset(out)


def fuzzy(syllable: str) -> str:
    s = syllable.lower().replace("ü", "v")
    if s[:2] in ("zh", "ch", "sh"):
        s = s[0] + s[2:]
    if s.endswith("ng") and len(s) > 2:
        s = s[:-1]
    return s


@functools.lru_cache(maxsize=100_000)
def _run(run: str) -> tuple[str, ...]:
    """The (exact, toneless) syllables of one Chinese run; runs repeat (owner names, tags): cached."""
    return tuple(lazy_pinyin(run))


def both(text: str) -> tuple[str, str]:
    """(fuzzy syllables, initials) of the Chinese runs of ``text``: space-separated, `` | ``
    between runs (the index tokenizer leaves a position gap there: no phrase spans two runs)."""
    syl: list[str] = []
    ini: list[str] = []
    for run in _CJK_RUN.findall(text or ""):
        ps = _run(run)
        syl.append(" ".join(fuzzy(p) for p in ps))
        ini.append(" ".join(p[:1] for p in ps))
    return " | ".join(syl), " | ".join(ini)


def syllables(text: str) -> str:
    return both(text)[0]


def initials(text: str) -> str:
    return both(text)[1]


def word_syllables(word: str) -> list[str]:
    """Fuzzy syllables of a query word's Chinese characters (query side: a few characters)."""
    return [fuzzy(p) for run in _CJK_RUN.findall(word) for p in _run(run)]


@functools.lru_cache(maxsize=4096)
def segment(letters: str) -> tuple[str, ...] | None:
    """``letters`` as the fewest valid pinyin syllables (fuzzy), or None if it is not pinyin."""
    letters = letters.lower()
    if not letters.isascii() or not letters.isalpha() or len(letters) > 40:
        return None
    valid = _valid()
    n = len(letters)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            piece = letters[i:j]
            if piece in valid:
                cand = (*best[i], piece)
                if best[j] is None or len(cand) < len(best[j]):
                    best[j] = cand
    got = best[n]
    return tuple(fuzzy(s) for s in got) if got else None
