"""Analyzers and the index schema.

Two views of every text field (measured in BENCHMARKS.md, "Search relevance"):

Two text fields, ``title`` and ``all`` (title + tags + description + metadata), each in two views:

* ``*_j`` — jieba search mode with a domain user dictionary: whole words, for precise ranking.
* ``*_g`` — character bigrams of each Chinese run (a one-character run stays a unigram) and whole
  ASCII words, with positions. A query word becomes a phrase of its bigrams, so 电镜 finds 扫描电镜
  and 冷冻电镜 (which jieba splits as 冷冻电/镜) without the false positives of a plain AND of
  bigrams (显微镜 must not match 显微分析与微镜头).

Pinyin (``py_t``/``py_a`` full syllables, ``in_t``/``in_a`` initials) of titles, tags and owner
names lets ``dianjing``, ``zpy`` and the homophone typo 电境 find 电镜 (``pinyin.py``).

Text is normalised (``text.normalize``) before it reaches either analyzer, at index and query time.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from whoosh.analysis import Token, Tokenizer
from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"

_jieba_lock = threading.Lock()
_jieba_ready = False


def init_jieba() -> None:
    """Load jieba and the domain dictionary once per process (it costs about a second)."""
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if _jieba_ready:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        from .text import normalize

        # The dictionary is data; words are normalised like the text they will meet (X射线 -> x射线).
        for line in USER_DICT.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            jieba.add_word(normalize(parts[0]), freq)
        _jieba_ready = True


def add_words(words) -> None:
    """Teach jieba extra words (e.g. every synonym), so queries and documents split on them."""
    import jieba

    init_jieba()
    added = False
    for w in words:
        if len(w) > 1 and jieba.dt.FREQ.get(w) != 2000:
            jieba.add_word(w, 2000)
            added = True
    if added:
        global _version
        _BLOCKS.clear()  # the dictionary changed: blocks may split differently now
        _KEPT.clear()
        _version += 1


_version = 0


def dictionary_version() -> int:
    """Changes whenever :func:`add_words` teaches jieba a word (caches of cut text key on it)."""
    return _version


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Chinese run goes on across one joiner between two Chinese characters: 气相色谱-质谱联用仪 and
# 气相色谱质谱联用仪 give the same bigrams (谱质 too), so either spelling finds the other.
_JOINERS = "\\-‐‑–—/·・"
_RUNS = re.compile(rf"([{_CJK}]+(?:[{_JOINERS}][{_CJK}]+)*)|([0-9a-z]+)")
_JOINER = re.compile(rf"[{_JOINERS}]")


def _cjk_chars(m: re.Match) -> list[tuple[str, int]]:
    """(character, offset in the text) of a Chinese run, joiners left out."""
    run = m.group(1)
    return [(ch, m.start() + i) for i, ch in enumerate(run) if not _JOINER.match(ch)]


def bigram_tokens(text: str) -> list[str]:
    """The tokens :class:`BigramTokenizer` emits for normalised ``text``, in order."""
    out: list[str] = []
    for m in _RUNS.finditer(text):
        run = m.group(1)
        if run is None:
            out.append(m.group(2))
            continue
        run = _JOINER.sub("", run)
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


class BigramTokenizer(Tokenizer):
    """Chinese runs as overlapping bigrams, ASCII letters/digits as whole words; positions in order."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for m in _RUNS.finditer(value):
            cjk = m.group(1)
            if cjk is None:
                pieces = [(m.group(2), m.start(), m.end())]
            elif len(cjk) == 1:
                pieces = [(cjk, m.start(), m.end())]
            else:
                chars = _cjk_chars(m) if _JOINER.search(cjk) else [(ch, m.start() + i) for i, ch in enumerate(cjk)]
                pieces = [(chars[i][0] + chars[i + 1][0], chars[i][1], chars[i + 1][1] + 1)
                          for i in range(len(chars) - 1)]
            for piece, at, end in pieces:
                t.text = piece
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = piece
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + at
                    t.endchar = start_char + end
                pos += 1
                yield t


def bigram_analyzer():
    return BigramTokenizer()


class PinyinTokenizer(Tokenizer):
    """Space-separated syllables (or initials) from ``pinyin.both``; ``|`` leaves a position gap."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for piece in value.split():
            if piece == "|":
                pos += 1
                continue
            t.text = piece
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = piece
            if positions:
                t.pos = pos
            pos += 1
            yield t


def pinyin_analyzer():
    return PinyinTokenizer()


# A run of Latin letters and digits is one word, as in the bigram view: jieba would otherwise cut it wherever its
# dictionary holds a shorter Latin word (every lexicon abbreviation is taught to it: ``add_words``), so that MEMS
# held ``ms`` (a mass spectrometer), ICP ``ic``, CMS ``ms`` and BMS ``ms``.
_LATIN = re.compile(r"[0-9A-Za-z]+")


def _inside_latin(text: str, i: int) -> bool:
    """Does offset ``i`` fall between two Latin letters or digits of ``text``?"""
    return 0 < i < len(text) and text[i - 1].isascii() and text[i].isascii() \
        and text[i - 1].isalnum() and text[i].isalnum()


def latin_whole(block: str, tokens):
    """jieba's ``(word, start, end)`` tokens of ``block`` less those that begin or end inside a Latin run, with
    each such run as a word of its own where no token left holds it (a token such as x射线 or 3d打印 does)."""
    runs = [m for m in _LATIN.finditer(block) if m.end() - m.start() > 1]
    if not runs:  # most blocks: nothing to cut inside
        return tokens
    kept = [t for t in tokens if not _inside_latin(block, t[1]) and not _inside_latin(block, t[2])]
    for m in runs:
        if not any(s <= m.start() and m.end() <= e for _w, s, e in kept):
            kept.append((m.group(), m.start(), m.end()))
    kept.sort(key=lambda t: (t[1], t[2] - t[1]))
    return kept


def cut(text: str, hmm: bool = True) -> list[str]:
    """``jieba.cut`` with every Latin run whole (``latin_whole``): the words of a query as the index has them."""
    import jieba

    words, at = [], 0
    for w in jieba.cut(text, HMM=hmm):
        if words and _inside_latin(text, at):
            words[-1] += w
        else:
            words.append(w)
        at += len(w)
    return words


# jieba cuts a text block by block (runs of its ``re_han_default``; everything between them comes
# out as one-character pieces that jieba's whoosh tokenizer drops), so the words of a block depend
# on the block alone: cached per block. Titles, tags, owner names, labels and boilerplate clauses
# repeat across listings; cutting (a DAG and an HMM per block in Python) was ~15 % of a reindex.
_BLOCKS: dict[str, tuple[tuple[str, bool], ...]] = {}
_BLOCKS_MAX = 300_000


def _block_words(block: str) -> tuple[tuple[str, bool], ...]:
    """(word, stopped) of one block exactly as jieba's ChineseAnalyzer makes them (search mode,
    lower case, its stop list, Porter stems)."""
    got = _BLOCKS.get(block)
    if got is None:
        import jieba
        from jieba.analyse.analyzer import STOP_WORDS, accepted_chars
        from whoosh.lang.porter import stem

        out = []
        for w, _s, _e in latin_whole(block, jieba.tokenize(block, mode="search")):
            if not accepted_chars.match(w) and len(w) <= 1:
                continue
            w = w.lower()
            stopped = w in STOP_WORDS
            out.append((w, stopped) if stopped else (_stem(w, stem), False))
        got = tuple(out)
        if len(_BLOCKS) >= _BLOCKS_MAX:
            _BLOCKS.clear()
        _BLOCKS[block] = got
    return got


_KEPT: dict[str, tuple[str, ...]] = {}  # per block, the words that are not stop words


def jieba_words(text: str) -> list[str]:
    """The words :class:`JiebaTokenizer` yields for ``text`` (stop words removed), in order:
    what the index writer counts, without a Token per word (``build.PartWriter``)."""
    import jieba

    init_jieba()
    out: list[str] = []
    for block in jieba.re_han_default.findall(text):
        got = _KEPT.get(block)
        if got is None:
            got = tuple(w for w, stopped in _block_words(block) if not stopped)
            if len(_KEPT) >= _BLOCKS_MAX:
                _KEPT.clear()
            _KEPT[block] = got
        out.extend(got)
    return out


_stems: dict[str, str] = {}


STEM_MIN = 5  # shorter Latin words are mostly abbreviations, not English: CMS is not cm, GPS not gp, BMS not bm


def _stem(word: str, stem) -> str:
    """Porter's stem of an English word (testing -> test), as jieba's ChineseAnalyzer makes it; a word under
    STEM_MIN letters, or with a digit, is kept as it is."""
    if len(word) < STEM_MIN or not word.isalpha():
        return word
    got = _stems.get(word)
    if got is None:
        got = stem(word)
        if len(_stems) < 100_000:
            _stems[word] = got
    return got


class JiebaTokenizer(Tokenizer):
    """jieba's ChineseAnalyzer (tokenizer, lower case, stop words, stems) with a per-block cache.

    The index fields using it store frequencies only (no positions), so the tokens it yields are
    the same multiset as the original chain's; positions are still counted in order."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        import jieba

        init_jieba()
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for block in jieba.re_han_default.findall(value):
            for word, stopped in _block_words(block):
                if stopped and removestops:
                    continue
                t.text = word
                t.boost = 1.0
                t.stopped = stopped
                if keeporiginal:
                    t.original = word
                if positions:
                    t.pos = pos
                pos += 1
                yield t


def jieba_analyzer():
    init_jieba()
    return JiebaTokenizer()


# What the index's text was made with. Bump it when a change makes the same listing index differently
# (normalisation, tokenisation, the fields' sources): an index built with another version counts as
# outdated and the next sync or the scheduler's ``search.rebuild_outdated`` rebuilds it from the database.
#   1: every index built before this stamp existed (no stamp file)
#   2: simplified text keeps its own words; only traditional text also gets the mainland's (晶片 stays 晶片),
#      6 Dec 2026
#   3: a run of Latin letters and digits is one jieba word (MEMS no longer holds ms, ICP no longer ic), 6 Dec 2026
ANALYSIS_VERSION = 3

# ``title`` alone (for its boost) and ``all`` = title, tags (twice: they weigh more than prose),
# description and metadata. Four clauses per query word instead of eight: Whoosh's cost is per
# matching document and clause (BENCHMARKS.md, "Search at 100,000 listings").
TEXT_FIELDS = ("title", "all")
PINYIN_FIELDS = ("py_t", "py_a", "in_t", "in_a")


def make_schema() -> Schema:
    ja, ga = jieba_analyzer(), bigram_analyzer()
    fields = dict(
        id=ID(stored=True, unique=True),
        ref=ID(stored=True),
        kind=ID(stored=True, sortable=True),
        track=ID(stored=True, sortable=True),
        owner_kind=ID(stored=True, sortable=True),
        open_mode=ID(stored=True, sortable=True),
        price_band=ID(stored=True, sortable=True),
        price=NUMERIC(int, bits=64, stored=True, sortable=True),  # fen (0.01 CNY)
        published=DATETIME(stored=True, sortable=True),
        title=STORED(),
    )
    for name in TEXT_FIELDS:
        fields[f"{name}_j"] = TEXT(analyzer=ja, phrase=False)
        fields[f"{name}_g"] = TEXT(analyzer=ga, phrase=True)
    # Pinyin of the title (``py_t``, ``in_t``) and of title + tags + owner name (``py_a``, ``in_a``):
    # fuzzy full syllables and initials (market/search/pinyin.py), computed once at index time.
    pa = pinyin_analyzer()
    for name in PINYIN_FIELDS:
        fields[name] = TEXT(analyzer=pa, phrase=True)
    return Schema(**fields)
