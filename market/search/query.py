"""From what a user typed to a Whoosh query: normalise, find synonyms, segment, build clauses.

A query is a list of *concepts*. A synonym found in the query (longest match first) is one concept
whose variants are the whole synonym group; every other word jieba finds is a concept of its own.
Each variant matches a field through its jieba term (whole word) or the phrase of its bigrams
(any substring), with boosts title > tags > description > metadata.
"""

from __future__ import annotations

import dataclasses
import re

from whoosh import query as Q

from .analysis import bigram_tokens, init_jieba, jieba_analyzer
from .text import normalize

MAX_QUERY_CHARS = 200  # a 1,000-character paste is cut here: ranking needs no more
MAX_CONCEPTS = 24

FIELD_BOOSTS = {"title": 3.0, "all": 1.0}  # a title match also matches `all`: 4 in total


@dataclasses.dataclass
class Strategy:
    """The knobs the relevance benchmark compares (see bench/relevance.py)."""

    jieba: bool = True
    bigram: bool = True
    synonyms: bool = True
    combine: str = "or"  # "and": every concept; "or": any, ranked by coordination
    coord: float | None = 0.9  # Or(scale=...) coordination bonus
    jieba_weight: float = 1.0
    bigram_weight: float = 1.0
    synonym_weight: float = 0.8
    jieba_fields: tuple[str, ...] = ("title", "all")


DEFAULT = Strategy()

# Words that carry no need in a natural sentence ("我想找一台能做…的设备").
STOPWORDS = frozenset(
    """的 了 和 与 及 或 在 是 有 我 我们 你 你们 他们 公司 想 想要 要 需要 需 希望 找 寻找 查找 找到
    一个 一台 一套 一些 有没有 没有 哪里 哪儿 哪个 哪些 什么 怎么 如何 可以 能 能够 可 做 进行 用 用于 使用 提供
    帮 帮忙 请问 一下 吗 呢 吧 啊 为 对 把 被 给 从 到 向 这 那 这个 那个 本 其 等 及其 相关 方面 关于 以及
    个 台 套 次 些 多 很 比较 最 也 都 还 就 又 让 能否 是否 有关 针对 开展 服务 合作""".split()
)

_ASCII = re.compile(r"[0-9a-z]")
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]")


@dataclasses.dataclass
class Concept:
    variants: tuple[str, ...]
    synonym: bool = False

    @property
    def text(self) -> str:
        return self.variants[0]


@dataclasses.dataclass
class ParsedQuery:
    text: str  # normalised
    concepts: list[Concept]

    @property
    def highlight_terms(self) -> list[str]:
        return [v for c in self.concepts for v in c.variants]


class SynonymTable:
    """Normalised term -> its group, with a longest-match scanner."""

    def __init__(self, groups: list[list[str]]):
        self.groups: dict[str, tuple[str, ...]] = {}
        for group in groups:
            norm = tuple(dict.fromkeys(normalize(t) for t in group if t and normalize(t)))
            if len(norm) < 2:
                continue
            for term in norm:
                merged = tuple(dict.fromkeys(self.groups.get(term, ()) + norm))
                self.groups[term] = merged
        self.by_first: dict[str, list[str]] = {}
        for term in sorted(self.groups, key=len, reverse=True):
            self.by_first.setdefault(term[0], []).append(term)

    def match_at(self, text: str, i: int) -> str | None:
        for term in self.by_first.get(text[i], ()):
            if not text.startswith(term, i):
                continue
            end = i + len(term)
            if _ASCII.match(term[0]) and i > 0 and _ASCII.match(text[i - 1]):
                continue
            if _ASCII.match(term[-1]) and end < len(text) and _ASCII.match(text[end]):
                continue
            return term
        return None

    def words(self) -> list[str]:
        return list(self.groups)


EMPTY_SYNONYMS = SynonymTable([])


def parse(q: str | None, synonyms: SynonymTable = EMPTY_SYNONYMS, use_synonyms: bool = True) -> ParsedQuery:
    import jieba

    init_jieba()
    text = normalize(q)[:MAX_QUERY_CHARS]
    concepts: list[Concept] = []
    seen: set[str] = set()

    def add(variants: tuple[str, ...], synonym: bool) -> None:
        key = variants[0]
        if key not in seen and len(concepts) < MAX_CONCEPTS:
            seen.add(key)
            concepts.append(Concept(variants, synonym))

    plain: list[str] = []
    buf: list[str] = []
    i = 0
    pieces: list[tuple[str, str | None]] = []  # (plain text, None) or ("", synonym term)
    while i < len(text):
        term = synonyms.match_at(text, i) if use_synonyms else None
        if term:
            if buf:
                pieces.append(("".join(buf), None))
                buf = []
            pieces.append(("", term))
            i += len(term)
        else:
            buf.append(text[i])
            i += 1
    if buf:
        pieces.append(("".join(buf), None))

    for chunk, term in pieces:
        if term is not None:
            group = synonyms.groups[term]
            add((term, *[t for t in group if t != term]), True)
            continue
        words = [w.strip() for w in jieba.cut(chunk)]
        plain.extend(w for w in words if w and _WORDLIKE.search(w) and w not in STOPWORDS)
    # In a sentence, lone characters are mostly particles and measure words: keep them only if
    # they are all there is.
    multi = [w for w in plain if len(w) > 1]
    for w in multi if multi or any(c.synonym for c in concepts) else plain:
        add((w,), False)
    return ParsedQuery(text=text, concepts=concepts)


_jieba_term_cache: dict[str, str | None] = {}


def _jieba_term(word: str) -> str | None:
    """The jieba field's token for a whole word (stemmed like the index), or None if it splits."""
    if word in _jieba_term_cache:
        return _jieba_term_cache[word]
    import jieba

    init_jieba()
    result = None
    if len(list(jieba.cut(word, HMM=False))) == 1:
        toks = [t.text for t in jieba_analyzer()(word)]
        result = max(toks, key=len) if toks else None
    if len(_jieba_term_cache) < 50000:
        _jieba_term_cache[word] = result
    return result


def variant_query(variant: str, strategy: Strategy = DEFAULT) -> Q.Query | None:
    subs: list[Q.Query] = []
    grams = bigram_tokens(variant) if strategy.bigram else []
    jterm = _jieba_term(variant) if strategy.jieba else None
    for field, boost in FIELD_BOOSTS.items():
        if jterm and field in strategy.jieba_fields:
            subs.append(Q.Term(f"{field}_j", jterm, boost=boost * strategy.jieba_weight))
        if len(grams) == 1:
            subs.append(Q.Term(f"{field}_g", grams[0], boost=boost * strategy.bigram_weight))
            if len(grams[0]) == 1 and not _ASCII.match(grams[0]):
                subs.append(Q.Prefix(f"{field}_g", grams[0], boost=boost * strategy.bigram_weight * 0.5))
        elif len(grams) > 1:
            # A phrase scores the sum of its bigrams: divide, so long words do not drown short ones.
            subs.append(Q.Phrase(f"{field}_g", grams, boost=boost * strategy.bigram_weight / len(grams)))
    if not subs:
        return None
    return Q.Or(subs)


def concept_query(concept: Concept, strategy: Strategy = DEFAULT) -> Q.Query | None:
    variants = concept.variants if strategy.synonyms else concept.variants[:1]
    subs = []
    for i, v in enumerate(variants):
        q = variant_query(v, strategy)
        if q is not None:
            if i:  # what the user typed ranks a little above its synonyms
                q = Q.Or(q.subqueries, boost=strategy.synonym_weight)
            subs.append(q)
    if not subs:
        return None
    # (Whoosh's DisjunctionMax scored documents matching one variant far too high: plain Or.)
    return subs[0] if len(subs) == 1 else Q.Or(subs)


def build(parsed: ParsedQuery, strategy: Strategy = DEFAULT) -> Q.Query | None:
    """The Whoosh query for ``parsed`` (None: nothing searchable, i.e. browse everything)."""
    clauses = [q for c in parsed.concepts if (q := concept_query(c, strategy)) is not None]
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    if strategy.combine == "and":
        return Q.And(clauses)
    return Q.Or(clauses, scale=strategy.coord)
