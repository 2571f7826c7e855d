"""How well an SME fits a scenario or resource, and who should look at what (issue 11).

Plain dataclasses in and out. A ``Match`` carries its score in [0, 1] and the factors behind it as
codes with parameters, strongest first, so a screen can say why in its own language, e.g.
``("same_track", {"track": "digital_healthcare"})``, ``("past_deals", {"count": 2, ...})``,
``("budget_fit", {...})`` → "同属数字医疗赛道; 曾完成 2 个影像标注项目; 预算匹配".

Factor codes (each scored 0..1, times its weight in ``Weights``; weights sum to 1):
  text_similarity {"cosine", "terms"}       TF-IDF cosine of the two token lists
  same_track      {"track"}                 the opportunity's track is one of the SME's
  shared_tags     {"tags", "share"}         tags in common / the opportunity's tags
  capabilities    {"matched", "missing"}    required capabilities the SME has / lacks
  past_deals      {"count", "track", "tags"} completed deals in the same track or with its tags
  same_district   {"district"}
  budget_fit      {"budget", "min", "max"}  the budget lies in the SME's usual project range
  budget_near     {"budget", "min", "max"}  within a factor of two of it (half the points)

Tokens are passed in: the caller may cut text with jieba (the search analyzer) and hand over the
tokens, or use ``tokenize`` here (lower-cased Latin words and digits, CJK character bigrams), which
keeps this module free of jieba. Complexity: building ``TfIdf`` is O(total tokens); ``score`` is
O(tokens + tags of the pair); recommendations O(n log n) for n candidates, plus O(k·n) for MMR.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

Tokenizer = Callable[[str], Iterable[str]]
T = TypeVar("T")

_WORD = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\uf900-\ufaff]+")


def tokenize(text: str) -> list[str]:
    """A jieba-free tokenizer: Latin words and numbers, and CJK character bigrams (a single CJK
    character stays a unigram). O(len(text))."""
    out: list[str] = []
    for run in _WORD.findall(text.lower()):
        if run[0].isascii():
            out.append(run)
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


@dataclass(frozen=True)
class Deal:
    """A project the SME completed (e.g. a contracted scenario)."""

    track: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Sme:
    id: str
    tokens: tuple[str, ...] = ()
    tracks: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    deals: tuple[Deal, ...] = ()
    district: str | None = None
    budget_min: Decimal | None = None  # the project sizes the SME usually takes on
    budget_max: Decimal | None = None


@dataclass(frozen=True)
class Opportunity:
    """A scenario or a resource an owner (a leading firm, a lab) puts on the market."""

    id: str
    owner_id: str
    kind: str = "scenario"
    tokens: tuple[str, ...] = ()
    track: str | None = None
    tags: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()  # what it needs
    district: str | None = None
    budget: Decimal | None = None


@dataclass(frozen=True)
class Weights:
    text: float = 0.30
    track: float = 0.20
    tags: float = 0.15
    capabilities: float = 0.10
    past_deals: float = 0.10
    district: float = 0.05
    budget: float = 0.10


@dataclass(frozen=True)
class Factor:
    code: str
    params: Mapping[str, object]
    points: float  # this factor's share of the score


@dataclass(frozen=True)
class Match:
    sme_id: str
    opportunity_id: str
    owner_id: str
    score: float
    factors: tuple[Factor, ...] = field(default=())

    @property
    def reasons(self) -> list[tuple[str, Mapping[str, object]]]:
        """(code, params) of each factor that counted, strongest first."""
        return [(f.code, f.params) for f in self.factors if f.points > 0]


class TfIdf:
    """Smoothed TF-IDF over a corpus of token lists; ``cosine`` of two token lists.

    idf(t) = ln((1 + N) / (1 + df(t))) + 1; vectors are sub-linear (1 + ln tf) and L2-normalised.
    Terms unseen in the corpus get the idf of a term seen nowhere.
    """

    def __init__(self, documents: Iterable[Sequence[str]]) -> None:
        df: Counter[str] = Counter()
        n = 0
        for doc in documents:
            n += 1
            df.update(set(doc))
        self.n = n
        self._idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
        self._unseen = math.log(1 + n) + 1

    def idf(self, term: str) -> float:
        return self._idf.get(term, self._unseen)

    def vector(self, tokens: Sequence[str]) -> dict[str, float]:
        counts = Counter(tokens)
        vec = {t: (1 + math.log(c)) * self.idf(t) for t, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        return {t: x / norm for t, x in vec.items()} if norm else {}

    @staticmethod
    def dot(u: Mapping[str, float], v: Mapping[str, float]) -> float:
        if len(u) > len(v):
            u, v = v, u
        return sum(x * v[t] for t, x in u.items() if t in v)

    def cosine(self, a: Sequence[str], b: Sequence[str]) -> float:
        return self.dot(self.vector(a), self.vector(b))


def build_tfidf(smes: Iterable[Sme], opportunities: Iterable[Opportunity]) -> TfIdf:
    return TfIdf([s.tokens for s in smes] + [o.tokens for o in opportunities])


def _text_factor(sme: Sme, opp: Opportunity, tfidf: TfIdf) -> tuple[float, dict]:
    u, v = tfidf.vector(sme.tokens), tfidf.vector(opp.tokens)
    shared = sorted((t for t in u if t in v), key=lambda t: (-u[t] * v[t], t))
    return tfidf.dot(u, v), {"terms": shared[:3]}


def score(sme: Sme, opp: Opportunity, tfidf: TfIdf, weights: Weights = Weights()) -> Match:
    """The fit of one SME to one opportunity, with its factors (module docstring)."""
    factors: list[Factor] = []

    def add(code: str, fraction: float, weight: float, **params: object) -> None:
        factors.append(Factor(code, params, max(0.0, min(1.0, fraction)) * weight))

    cosine, text_params = _text_factor(sme, opp, tfidf)
    if cosine > 0:
        add("text_similarity", cosine, weights.text, cosine=round(cosine, 3), **text_params)
    if opp.track and opp.track in sme.tracks:
        add("same_track", 1.0, weights.track, track=opp.track)
    shared_tags = sorted(sme.tags & opp.tags)
    if shared_tags:
        share = len(shared_tags) / len(opp.tags)
        add("shared_tags", share, weights.tags, tags=shared_tags, share=round(share, 3))
    if opp.capabilities:
        matched = sorted(opp.capabilities & sme.capabilities)
        missing = sorted(opp.capabilities - sme.capabilities)
        add(
            "capabilities",
            len(matched) / len(opp.capabilities),
            weights.capabilities,
            matched=matched,
            missing=missing,
        )
    relevant = [
        d for d in sme.deals if (opp.track and d.track == opp.track) or (d.tags & opp.tags)
    ]
    if relevant:
        deal_tags = sorted(set().union(*(d.tags for d in relevant)) & opp.tags)
        add(
            "past_deals",
            len(relevant) / 3,
            weights.past_deals,
            count=len(relevant),
            track=opp.track if any(d.track == opp.track for d in relevant) else None,
            tags=deal_tags,
        )
    if opp.district and opp.district == sme.district:
        add("same_district", 1.0, weights.district, district=opp.district)
    if opp.budget is not None and (sme.budget_min is not None or sme.budget_max is not None):
        low = sme.budget_min if sme.budget_min is not None else Decimal(0)
        high = sme.budget_max
        params = {"budget": str(opp.budget), "min": str(low), "max": None if high is None else str(high)}
        if low <= opp.budget and (high is None or opp.budget <= high):
            add("budget_fit", 1.0, weights.budget, **params)
        elif opp.budget * 2 >= low and (high is None or opp.budget <= high * 2):
            add("budget_near", 0.5, weights.budget, **params)
    factors.sort(key=lambda f: (-f.points, f.code))
    total = sum(f.points for f in factors)
    return Match(sme.id, opp.id, opp.owner_id, round(total, 6), tuple(factors))


def cap_per_key(items: Sequence[T], key: Callable[[T], Hashable], k: int, per_key: int) -> list[T]:
    """The first k items (in the given order) taking at most ``per_key`` with the same key.
    O(n)."""
    out: list[T] = []
    taken: Counter = Counter()
    for item in items:
        if len(out) >= k:
            break
        group = key(item)
        if taken[group] < per_key:
            taken[group] += 1
            out.append(item)
    return out


def mmr(
    items: Sequence[T],
    relevance: Callable[[T], float],
    similarity: Callable[[T, T], float],
    k: int,
    lam: float = 0.7,
) -> list[T]:
    """Maximal marginal relevance: repeatedly take the item maximising
    lam·relevance − (1 − lam)·(max similarity to the items already taken). O(k·n) similarity calls."""
    remaining = list(items)
    chosen: list[T] = []
    closest = [0.0] * len(remaining)
    while remaining and len(chosen) < k:
        best = max(
            range(len(remaining)),
            key=lambda i: (lam * relevance(remaining[i]) - (1 - lam) * closest[i], -i),
        )
        item = remaining.pop(best)
        closest.pop(best)
        chosen.append(item)
        closest = [max(c, similarity(other, item)) for c, other in zip(closest, remaining, strict=True)]
    return chosen


def recommend_for_sme(
    sme: Sme,
    opportunities: Iterable[Opportunity],
    tfidf: TfIdf,
    k: int = 10,
    per_owner: int = 2,
    min_score: float = 0.0,
    weights: Weights = Weights(),
) -> list[Match]:
    """Scenarios and resources for an SME to look at: best first, at most ``per_owner`` from one
    owner, so one large owner does not fill the list. O(n log n)."""
    matches = [score(sme, o, tfidf, weights) for o in opportunities]
    ranked = sorted(
        (m for m in matches if m.score > min_score), key=lambda m: (-m.score, m.opportunity_id)
    )
    return cap_per_key(ranked, lambda m: m.owner_id, k, per_owner)


def recommend_for_owner(
    opportunities: Sequence[Opportunity],
    smes: Iterable[Sme],
    tfidf: TfIdf,
    k: int = 10,
    lam: float = 0.7,
    min_score: float = 0.0,
    weights: Weights = Weights(),
) -> list[Match]:
    """SMEs an owner should invite: for each SME its best match over the owner's opportunities,
    then MMR (``lam``) over the SMEs' own text so that near-identical firms do not fill the list.
    O(n·m + k·n) for n SMEs and m opportunities."""
    best: dict[str, Match] = {}
    vectors: dict[str, dict[str, float]] = {}
    for sme in smes:
        vectors[sme.id] = tfidf.vector(sme.tokens)
        for opp in opportunities:
            m = score(sme, opp, tfidf, weights)
            current = best.get(sme.id)
            if m.score > min_score and (current is None or m.score > current.score):
                best[sme.id] = m
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.sme_id))
    return mmr(
        ranked,
        lambda m: m.score,
        lambda x, y: TfIdf.dot(vectors[x.sme_id], vectors[y.sme_id]),
        k,
        lam,
    )
