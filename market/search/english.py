"""English queries over Chinese listings: what an English glossary knows is searched as the Chinese it names.

Every listing is written in Chinese; an English reader types "electron microscopes" or "cold chain logistics" and
found nothing (acronyms excepted: the lexicon has SEM, XRD …). A query with no Chinese in it is read against the
shipped glossary (``data/english.yaml``, English term -> the Chinese term the lexicon and the listings use),
longest phrase first, each word also in its singular ("microscopes" -> "microscope", "batteries" -> "battery",
"analyses" -> "analysis"). A query that reads as pinyin throughout and has words the glossary does not know ("fan
ying fu") is pinyin, not English: the search's pinyin reading takes it. Words the glossary knows become their
Chinese terms; acronyms and model numbers the reader typed (SEM, CT, 600MHz) and words the index holds (a model's
name, Krios) are kept; other English words are dropped (a sentence's "we need to", or a word neither knows). The
search page says what the query was searched as.

Pure: no Flask, no database.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .pinyin import segment

GLOSSARY_FILE = Path(__file__).with_name("data") / "english.yaml"
_CJK = re.compile(r"[\u3400-\u9fff]")
# a word as typed: letters and digits, inner hyphens and apostrophes kept (x-ray, cryo-em)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
# words of an English request that name no need, never kept even where a listing's text holds them
STOPWORDS = frozenset("""
a an and any are as at be by can could do does for from get has have i in into is it its looking me my need needs of
on or our please some that the their them this to us use used using want wants we who with would you your find search
""".split())


@dataclass(frozen=True)
class Translation:
    terms: tuple[str, ...]  # the Chinese terms of the glossary's phrases, in the query's order
    kept: tuple[str, ...]  # the acronyms and model numbers typed, kept as they are
    phrases: tuple[str, ...]  # the English phrases the glossary knew

    @property
    def query(self) -> str:
        return " ".join((*self.terms, *self.kept))


@functools.cache
def glossary() -> dict[tuple[str, ...], str]:
    """English phrase (as a tuple of lower-case words) -> Chinese term, over every section of the file."""
    sections = yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8")) or []
    table: dict[tuple[str, ...], str] = {}
    for section in sections:
        for phrase, chinese in (section.get("terms") or {}).items():
            words = tuple(w.lower() for w in _WORD.findall(str(phrase)))
            if words and chinese:
                table.setdefault(words, str(chinese).strip())
    return table


@functools.cache
def _known_words() -> frozenset[str]:
    return frozenset(w for phrase in glossary() for w in phrase)


def singular(word: str) -> str:
    """The glossary's form of ``word``: itself when known, else the first singular of it that is known
    (batteries -> battery, analyses -> analysis, boxes -> box, microscopes -> microscope)."""
    known = _known_words()
    if word in known:
        return word
    candidates = []
    if word.endswith("ies") and len(word) > 4:
        candidates.append(word[:-3] + "y")
    if word.endswith("ses") and len(word) > 4:
        candidates.append(word[:-2] + "is")
    if word.endswith("es") and len(word) > 3:
        candidates.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        candidates.append(word[:-1])
    return next((c for c in candidates if c in known), word)


def _kept(word: str) -> bool:
    """An acronym or a model number as typed (SEM, ICP-MS, 600MHz, 3D): the index knows these as they are."""
    return any(ch.isdigit() for ch in word) or (len(word) >= 2 and word.upper() == word and word.isascii()
                                                and any(ch.isalpha() for ch in word))


def is_latin(q: str) -> bool:
    """A query typed in a Latin script only (no Chinese): the ones :func:`translate` reads."""
    return bool(q) and not _CJK.search(q) and _WORD.search(q) is not None


def translate(q: str, known: Callable[[str], bool] | None = None) -> Translation | None:
    """The Chinese a query in English is searched as, or None: a query with Chinese in it, or none of whose words
    the glossary knows (an acronym alone, a model name), is searched as typed. ``known(word)``: does the index hold
    the (lower-case) word."""
    if not is_latin(q):
        return None
    typed = _WORD.findall(q)
    words = [singular(w.lower()) for w in typed]
    table = glossary()
    longest = max((len(p) for p in table), default=0)
    terms: list[str] = []
    kept: list[str] = []
    phrases: list[str] = []
    unknown = 0  # words neither the glossary nor the index knows
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            chinese = table.get(tuple(words[i:i + n]))
            if chinese is not None:
                if chinese not in terms:
                    terms.append(chinese)
                phrases.append(" ".join(typed[i:i + n]))
                i += n
                break
        else:
            word = typed[i]
            keep = _kept(word) or (known is not None and word.lower() not in STOPWORDS and known(word.lower()))
            if keep and word not in kept:
                kept.append(word)
            unknown += not keep
            i += 1
    if not terms or (unknown and all(segment(w) for w in typed)):
        return None
    return Translation(tuple(terms), tuple(kept), tuple(phrases))
