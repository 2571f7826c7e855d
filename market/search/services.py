"""Search services: querying, the outbox sync, rebuilds, synonyms and saved searches."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import contains_eager, selectinload
from whoosh import collectors, sorting
from whoosh import query as Q

from market import audit, outbox, permissions
from market.db import get_or_404
from market.errors import NotFound, ValidationError
from market.extensions import db
from models.listings import Listing, ListingStatus
from models.search import SavedSearch, SavedSearchMatch, SearchSynonym
from models.users import User

from . import aliases, english, fast, labels, pinyin, semantic
from .analysis import add_words, bigram_tokens
from .index import IndexBusy, IndexStore
from .query import CJK_RUNS, DEFAULT, LITERAL, ParsedQuery, Strategy, SynonymTable, build, language_word, parse
from .text import highlight, normalize, plain_text

log = logging.getLogger(__name__)

SORTS = ("relevance", "newest", "price")
MAX_PER_PAGE = 100
NO_PRICE = 10**15  # fen; sorts last when sorting by price

_stores: dict[str, IndexStore] = {}


def store() -> IndexStore:
    root = current_app.config["SEARCH_INDEX_DIR"]
    if root not in _stores:
        _stores[root] = IndexStore(root)
    return _stores[root]


# ---------------------------------------------------------------- documents
def _price(listing: Listing) -> Decimal | None:
    return listing.budget_cny if listing.kind == "scenario" else listing.rate_cny_per_hour


def document(listing: Listing) -> dict[str, Any]:
    """What the index keeps for a published listing (all text normalised)."""
    owner = listing.owner
    details = listing.details or {}
    extra = " ".join(str(v) for v in details.values() if isinstance(v, str | int | float))[:2000]
    meta = " ".join(
        filter(
            None,
            [
                labels.KIND_WORDS.get(listing.kind, ""),
                labels.TRACK_WORDS.get(listing.track, ""),
                owner.name if owner else "",
                labels.DOMAIN_WORDS.get(listing.data_domain or "", ""),
                labels.OPEN_MODE_WORDS.get(listing.open_mode or "", "") if listing.kind == "public_data" else "",
                extra,
            ],
        )
    )
    price = _price(listing)
    published = (listing.published_at or listing.created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    title, tags, desc, meta = (
        normalize(listing.title),
        normalize(" ; ".join(str(t) for t in listing.tags or [])),
        normalize(plain_text(listing.description)),
        normalize(meta),
    )
    # Tags twice: a tag weighs more than a word of prose (title > tags > description).
    everything = " | ".join([title, tags, tags, desc, meta])
    py_t, in_t = pinyin.both(title)
    py_o, in_o = pinyin.both(" | ".join([tags, normalize(owner.name) if owner else ""]))
    return dict(
        id=str(listing.id),
        ref=listing.ref,
        kind=listing.kind,
        track=listing.track or "other",
        owner_kind=owner.kind if owner else "other",
        open_mode=(listing.open_mode or "conditional") if listing.kind == "public_data" else "none",
        price_band=labels.price_band(listing.kind, price),
        price=int(price * 100) if price is not None else NO_PRICE,
        published=published.replace(tzinfo=None),
        title=listing.title,
        title_j=title, title_g=title,
        all_j=everything, all_g=everything,
        py_t=py_t, in_t=in_t, py_a=f"{py_t} | {py_o}", in_a=f"{in_t} | {in_o}",
    )


# ---------------------------------------------------------------- synonyms
_syn_lock = threading.Lock()
SYNONYM_TTL = 30.0  # seconds; other processes see an admin's edit within this delay
# which groups the table in use was built from (None: read them again) and when they were read
_syn_state: dict[str, Any] = {"at": 0.0, "key": None}
# The tables last built, by their groups, least recently used first: the same groups read again after an
# invalidation (a seed that added nothing, an edit undone; in the tests, the lexicon seeded again after each test
# emptied the tables) reuse theirs, whose head-noun and sound indexes took 1.4 s to build for the shipped lexicon.
_syn_tables: OrderedDict[tuple, SynonymTable] = OrderedDict()
SYNONYM_TABLES = 2


def synonyms(refresh: bool = False) -> SynonymTable:
    with _syn_lock:
        key = _syn_state["key"]
        if refresh or key is None or time.monotonic() - _syn_state["at"] > SYNONYM_TTL:
            rows = db.session.execute(
                select(SearchSynonym.terms, SearchSynonym.origin).where(SearchSynonym.deleted_at.is_(None))
            ).all()
            groups = [r.terms for r in rows]
            key = tuple(tuple(str(t) for t in g or ()) for g in groups)
            changed = key != _syn_state["key"]
            if key not in _syn_tables:
                _syn_tables[key] = SynonymTable(groups)
                while len(_syn_tables) > SYNONYM_TABLES:
                    _syn_tables.popitem(last=False)
            _syn_tables.move_to_end(key)
            if changed:
                # Shipped and admin terms become jieba words (documents and queries split on them);
                # mined ones do not: they come out of a reindex, and a word added after the documents
                # were cut would split the next build's documents differently from this one's. A
                # mined term is found by its bigrams like any other phrase.
                add_words(normalize(str(t)) for r in rows if r.origin != "mined" for t in r.terms or ())
            _syn_state.update(key=key, at=time.monotonic())
        return _syn_tables[key]


def invalidate_synonyms() -> None:
    _syn_state["key"] = None


ORIGINS = ("admin", "shipped", "mined")


def synonym_groups() -> dict[str, list[SearchSynonym]]:
    """Live groups by origin (admin, shipped, mined), for the synonyms page."""
    out: dict[str, list[SearchSynonym]] = {o: [] for o in ORIGINS}
    rows = db.session.execute(
        select(SearchSynonym).where(SearchSynonym.deleted_at.is_(None)).order_by(SearchSynonym.id)
    ).scalars()
    for row in rows:
        out.setdefault(row.origin or "admin", []).append(row)
    return out


@dataclasses.dataclass
class SynonymPage:
    """What the synonyms page shows: the groups of each origin that match the filter, and the shipped lexicon's
    sources with their group counts (2,240 shipped groups are too many to list at once: a source's groups, or
    those a filter finds, are listed on demand)."""

    groups: dict[str, list[SearchSynonym]]
    sources: list[tuple[str, int]]
    total: int
    filtered: bool

    @property
    def shipped_total(self) -> int:
        return sum(n for _s, n in self.sources)


def synonym_page(q: str = "", source: str = "") -> SynonymPage:
    """The live groups with a term holding ``q`` (case and width folded, as a search folds them); when ``source`` is
    given, only the shipped ones of that source. Sources are not searched: SEM would find every group of a source
    citing SEMI. Unfiltered, the shipped groups are only counted per source (in SQL), not loaded."""
    needle = normalize(q.strip())[:50]
    live = SearchSynonym.deleted_at.is_(None)
    shipped = SearchSynonym.origin == "shipped"
    sources = [(name, n) for name, n in db.session.execute(
        select(SearchSynonym.source, func.count()).where(live, shipped)
        .group_by(SearchSynonym.source).order_by(func.min(SearchSynonym.id))).all()]
    total = db.session.execute(select(func.count()).select_from(SearchSynonym).where(live)).scalar_one()
    stmt = select(SearchSynonym).where(live).order_by(SearchSynonym.id)
    if source:
        stmt = stmt.where(shipped, SearchSynonym.source == source)
    elif not needle:
        stmt = stmt.where(~shipped)  # listed by source until one is opened or a filter is typed
    shown: dict[str, list[SearchSynonym]] = {o: [] for o in ORIGINS}
    for row in db.session.execute(stmt).scalars():
        if not needle or any(needle in normalize(t) for t in row.terms):
            shown.setdefault(row.origin or "admin", []).append(row)
    return SynonymPage(groups=shown, sources=sources, total=total, filtered=bool(needle or source))


def clean_terms(raw: str | list[str]) -> list[str]:
    items = raw if isinstance(raw, list) else raw.replace("，", ",").replace("、", ",").replace("\n", ",").split(",")
    terms = list(dict.fromkeys(t.strip() for t in items if t and t.strip()))
    if len(terms) < 2:
        raise ValidationError(_("一组同义词至少需要两个词，用逗号分隔。"), "terms")
    if any(len(t) > 50 for t in terms):
        raise ValidationError(_("每个词不超过 50 个字符。"), "terms")
    return terms


def save_synonym(user: User, raw: str, synonym_id: int | None = None) -> SearchSynonym:
    permissions.require(user, "search.manage_synonyms")
    terms = clean_terms(raw)
    if synonym_id is None:
        row = SearchSynonym(terms=terms, origin="admin", source="")
        db.session.add(row)
        before = None
    else:
        row = db.session.get(SearchSynonym, synonym_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(_("同义词组不存在。"))
        before = audit.snapshot(row)
        row.terms = terms
    db.session.flush()
    audit.record(user, "search.synonym_saved", row, before, audit.snapshot(row))
    db.session.flush()
    invalidate_synonyms()
    return row


def delete_synonym(user: User, synonym_id: int) -> None:
    """Delete a group. A shipped or mined group leaves a tombstone: re-seeding or re-mining never
    brings it back."""
    permissions.require(user, "search.manage_synonyms")
    row = db.session.get(SearchSynonym, synonym_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(_("同义词组不存在。"))
    before = audit.snapshot(row)
    if row.seed_key:
        row.deleted_at = dt.datetime.now(dt.UTC)
        audit.record(user, "search.synonym_deleted", row, before, audit.snapshot(row))
    else:
        audit.record(user, "search.synonym_deleted", row, before, None)
        db.session.delete(row)
    db.session.flush()
    invalidate_synonyms()


def seed_synonyms(path: Path | None = None) -> int:
    """Merge the shipped lexicon (data/lexicon.yaml): groups never seen are added; groups an admin
    edited or deleted are left as they are. Returns the number of groups added."""
    from .seed import load_lexicon, merge_shipped

    groups = load_lexicon(path)
    added = merge_shipped(db.session.connection(), groups)
    if added:
        audit.record("cli", "search.synonyms_seeded", None, None, {"groups": added}, object_type="search_synonym")
    db.session.flush()
    invalidate_synonyms()
    return added


def merge_mined(groups: dict[str, dict]) -> int:
    """Store alias groups learned from the listings (``aliases.mine_all``) as ``mined`` synonyms.

    Keyed by the abbreviation: an existing mined group grows with newly seen full names; a deleted
    one (tombstone) stays deleted; a pair already inside one live group is not stored again.
    """
    if not groups:
        return 0
    live = [row for row in db.session.execute(select(SearchSynonym)).scalars()]
    by_key = {row.seed_key: row for row in live if row.seed_key}
    termsets = [{normalize(str(t)) for t in row.terms} for row in live if row.deleted_at is None and row.origin != "mined"]
    changed = 0
    now = dt.datetime.now(dt.UTC)
    for key, g in groups.items():
        terms = g["terms"]
        norm = {normalize(t) for t in terms}
        if any(norm <= ts for ts in termsets):
            continue
        source = g["source"][:200]
        row = by_key.get(key)
        if row is None:
            row = SearchSynonym(terms=terms, origin="mined", source=source, seed_key=key, created_at=now)
            db.session.add(row)
            by_key[key] = row
            changed += 1
        elif row.deleted_at is None and row.origin == "mined":
            merged = list(dict.fromkeys([*row.terms, *terms]))
            if merged != row.terms:
                row.terms = merged
                row.source = source
                changed += 1
    if changed:
        audit.record("cli", "search.synonyms_mined", None, None, {"groups": changed}, object_type="search_synonym")
        invalidate_synonyms()
    return changed


# ---------------------------------------------------------------- search
@dataclasses.dataclass
class Hit:
    listing: Listing
    score: float | None
    title_html: str
    highlight: str


@dataclasses.dataclass
class SearchResult:
    query: str
    parsed: ParsedQuery
    total: int
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    sort: str
    filters: dict[str, str]
    # Listings shown after the matches when they are fewer than ``FILL_TO`` (relevance order, the
    # page holding the last match): related by the matches' own titles and tags, by parts of a long
    # word or by the concept a word is a kind of; never counted in ``total`` or the facets, never
    # ranked above a match. On a first page whose request matches fewer than FILL_TO listings by its
    # specific words, the matches of only its common words (counted in ``total``) follow them here.
    related: list[Hit] = dataclasses.field(default_factory=list)
    # the kinds of listing the related listings are when the query named only kinds (``_kind_listings``)
    browsed_kinds: frozenset[str] = frozenset()
    # the listings ``_spread`` brought into the first ten for a concept of the query: a re-ordering by meaning
    # (``semantic.reorder``) leaves them where they are
    spread_ids: frozenset[int] = frozenset()
    # the page as (listing id, score) pairs: the matches, then the related listings (before loading them)
    page_ids: tuple[list, list] = ([], [])
    extra_terms: list[str] = dataclasses.field(default_factory=list)  # highlighted besides the query's words
    searched_as: str | None = None  # the Chinese an English query was searched as (``english.translate``)

    @property
    def facet_lists(self) -> dict[str, dict[str, int]]:
        """The facets to show: each facet's counts, with a filter in force listed even when nothing matches it (0),
        so that it can be taken off where it is shown (a filter matching nothing has no count of its own)."""
        out = {}
        for name, counts in self.facets.items():
            value = self.filters.get(name)
            shown = dict(counts) if value is None or value in counts else {value: 0, **counts}
            if shown:
                out[name] = shown
        return out

    @property
    def browsed_kind_names(self) -> list[str]:
        return [str(labels.KIND_LABELS[k]) for k in sorted(self.browsed_kinds) if k in labels.KIND_LABELS]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def clean_filters(raw: dict[str, Any]) -> dict[str, str]:
    """Keep known facet filters with known values; anything else is a ValidationError."""
    out: dict[str, str] = {}
    for name, allowed in labels.FACETS.items():
        value = raw.get(name)
        if value in (None, ""):
            continue
        allowed_values = set(allowed) | ({"none"} if name == "open_mode" else set())
        if value not in allowed_values:
            raise ValidationError(_("筛选条件无效：%(value)s", value=str(value)[:40]), name)
        out[name] = str(value)
    return out


def _filter_query(filters: dict[str, str]) -> Q.Query | None:
    terms = [Q.Term(labels.FACET_FIELDS[name], value) for name, value in filters.items()]
    if not terms:
        return None
    return Q.And(terms) if len(terms) > 1 else terms[0]


def search(
    q: str | None = "",
    filters: dict[str, Any] | None = None,
    page: int = 1,
    per_page: int = 20,
    sort: str = "relevance",
    strategy: Strategy = DEFAULT,
    with_facets: bool = True,
    verify: bool = True,
    hydrate: bool = True,
) -> SearchResult:
    """Search published listings. An empty query browses everything, newest first. ``hydrate=False`` leaves
    ``hits`` and ``related`` empty and the page's (listing id, score) pairs in ``page_ids`` (``_semantic_search``
    loads only the listings it shows)."""
    filters = clean_filters(filters or {})
    if sort not in SORTS:
        raise ValidationError(_("排序方式无效。"), "sort")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(_("每页条数须在 1 到 100 之间。"), "per_page")
    if page < 1:
        raise ValidationError(_("页码须从 1 开始。"), "page")
    if strategy.english:
        translated = as_english(q or "", store().searcher())
        if translated is not None:
            found = search(translated.query, filters, page, per_page, sort, dataclasses.replace(strategy, english=False),
                           with_facets, verify, hydrate)
            found.query, found.searched_as = q or "", translated.query
            return found
    if strategy.semantic and sort == "relevance" and semantic.is_request(q or "") \
            and (page - 1) * per_page < semantic.SEMANTIC_FETCH:
        found = _semantic_search(q or "", filters, page, per_page, strategy, with_facets, verify)
        if found is not None:
            return found
        strategy = dataclasses.replace(strategy, semantic=0.0)
    searcher = store().searcher()
    parsed = parse(q or "", synonyms(), strategy, known=known_words(searcher), sounds=sounds_of(searcher),
                   occurs=occurs_in(searcher), freq=term_frequency(searcher) if strategy.index_counts else None)
    wq = build(parsed, strategy)
    if wq is None:
        wq = Q.Every()
        if sort == "relevance":
            sort = "newest"
    coverage = strategy.coverage if getattr(wq, "market_concepts", False) else 0.0
    prefer = _kind_preference(searcher, parsed.kinds) if strategy.kinds else None
    run: dict = {}
    spread = None
    if strategy.spread and coverage:  # several concepts: the known ones each get their best listings in
        known = [gi for gi, c in enumerate(getattr(wq, "market_concept_list", ()))
                 if not c.role and not _generic(c, strategy) and (c.synonym or c.narrower)]
        if len(known) >= 2:
            spread = (known, strategy.spread)
    reorder = None
    if strategy.about_weak and coverage:  # several concepts: the weak matches by what the best are about
        def reorder(top):  # noqa: E306
            return _about_order(searcher, parsed, strategy, top)
    ids_scores, total, facets = execute(searcher, wq, filters, sort, page, per_page, with_facets, coverage,
                                        prefer, run, spread, reorder)
    spread_ids = frozenset(run.get("spread", ()))
    suggestion = None
    if parsed.concepts and (total == 0 or parsed.needs_suggestion):
        suggestion = suggest(parsed, searcher)
    # what was typed by sound (dianjing, 电境) is highlighted as the word it stands for
    extra = suggestion.split() if suggestion and parsed.needs_suggestion else []
    related_ids: list[tuple[int, float | None]] = []
    browsed: frozenset[str] = frozenset()
    if strategy.fill and sort == "relevance" and parsed.concepts:
        basis, weak = parsed, []
        if total >= FILL_TO and page == 1 and strategy.generic_split:
            # Matches of only the common words of a sentence (检测, 数据, 平台 …) are weak: when fewer
            # than FILL_TO listings match one of its specific words, the related listings come
            # before the weak matches.
            specific = [c for c in parsed.concepts if not c.role and not _generic(c, strategy)]
            if specific and len(specific) < len([c for c in parsed.concepts if not c.role]):
                basis = ParsedQuery(parsed.text, specific)
                run = _few_matches(searcher, basis, strategy, filters, prefer)
                if run is None:
                    basis = parsed
                else:
                    strong = {int(searcher.stored_fields(int(g))["id"]) for g in run["docset"]}
                    weak = [x for x in ids_scores if x[0] not in strong]
                    ids_scores = [x for x in ids_scores if x[0] in strong]
        if basis is parsed and page == 1 and strategy.modifier_split \
                and any(c.role == "modifier" for c in parsed.concepts):
            # Matches of only a modifier of a long word (高效 of 高效液相色谱仪, 多功能 …) are weak too:
            # when fewer than FILL_TO listings match the rest, the related listings (the siblings:
            # 离子色谱, GPC) come before them.
            core = ParsedQuery(parsed.text, [c for c in parsed.concepts if c.role != "modifier"])
            got_run = _few_matches(searcher, core, strategy, filters, prefer)
            if got_run is not None and len(got_run["docset"]) < total:
                basis, run = core, got_run
                strong = {int(searcher.stored_fields(int(g))["id"]) for g in run["docset"]}
                weak = [x for x in ids_scores if x[0] not in strong]
                ids_scores = [x for x in ids_scores if x[0] in strong]
        room = min(per_page, FILL_TO) - len(ids_scores)
        if room > 0 and (basis is not parsed or (total < FILL_TO and page * per_page >= total)):
            seen = {i for i, _s in ids_scores}
            got = [x for x in _related(searcher, basis, strategy, filters, room, prefer, run) if x[0] not in seen]
            seen.update(i for i, _s in got)
            related_ids = (got + [x for x in weak if x[0] not in seen])[: per_page - len(ids_scores)]
            if strategy.kind_browse and len(ids_scores) + len(related_ids) < min(per_page, FILL_TO) \
                    and _names_only_kinds(parsed, strategy):
                seen.update(i for i, _s in related_ids)
                room = min(per_page, FILL_TO) - len(ids_scores) - len(related_ids)
                related_ids += _kind_listings(searcher, parsed.kinds, filters, room, seen)
                if related_ids and filters.get("kind") in (None, *parsed.kinds):
                    browsed = parsed.kinds  # (not when a filter holds another kind: nothing of these is shown)
    result = SearchResult(
        query=q or "", parsed=parsed, total=total, page=page, per_page=per_page, hits=[],
        facets=facets, suggestion=suggestion, sort=sort, filters=filters,
        browsed_kinds=browsed, spread_ids=spread_ids, page_ids=(ids_scores, related_ids), extra_terms=extra,
    )
    if hydrate:
        result.hits = _hydrate(ids_scores, parsed, verify, extra)
        result.related = _hydrate(related_ids, parsed, verify, extra) if related_ids else []
    return result


def as_english(q: str, searcher) -> english.Translation | None:
    """The Chinese an English query is searched as (``english.translate``, with the index's words), None for any
    other: the search page and a saved search's alerts read a query alike."""
    return english.translate(q, known_words(searcher)) if english.is_latin(q) else None


def _semantic_search(q: str, filters, page: int, per_page: int, strategy: Strategy, with_facets: bool,
                     verify: bool) -> SearchResult | None:
    """A request's pages within the re-ordered places (``semantic.reorder``), cut from one longer page of the
    ranker's, so that page 2 goes on where page 1 stopped; None when the ranker's order stands. Only the
    listings shown are loaded."""
    fetch = max(semantic.SEMANTIC_FETCH, page * per_page)
    if fetch > MAX_PER_PAGE:
        return None
    vectors = semantic.space()
    if vectors is None:  # nothing embedded yet
        return None
    cosines = semantic.start_closeness(q, vectors)  # on its own thread while the ranker fetches the page
    base = search(q, filters, 1, fetch, "relevance", dataclasses.replace(strategy, semantic=0.0), with_facets, verify,
                  hydrate=False)
    matches, related = base.page_ids
    try:
        ordered = semantic.reorder(q, [i for i, _s in [*matches, *related]], strategy.semantic, vectors,
                                   base.spread_ids, cosines)
    except Exception:  # noqa: BLE001 - an improvement of the order only: the ranker's order still answers
        log.exception("re-ordering a request by meaning failed")
        ordered = None
    if ordered is None:
        return None
    score = dict([*related, *matches])
    match_ids = {i for i, _s in matches}
    shown = ordered[(page - 1) * per_page:page * per_page]
    base.hits = _hydrate([(i, score[i]) for i in shown if i in match_ids], base.parsed, verify, base.extra_terms)
    base.related = _hydrate([(i, score[i]) for i in shown if i not in match_ids], base.parsed, verify,
                            base.extra_terms)
    base.page, base.per_page = page, per_page
    return base


FILL_TO = 10  # a query matching fewer listings gets related ones after them (``_related``)
# a related listing's least share of the best related listing's score: the tail below it was noise (for 算力
# in the demo, OLED and hospital-bed listings after the AI scenarios); 0.15 costs 0.004 recall@10 on the
# validation set, nothing on the development set (BENCHMARKS.md, the fourth pass)
RELATED_MIN = 0.15
FEEDBACK_DOCS = 3  # the best matches whose titles and tags make the related query
FEEDBACK_CONCEPTS = 16


FEEDBACK_DESC_TERMS = 8
FEEDBACK_DESC_CHARS = 600


def _lexicon_terms(table: SynonymTable, text: str) -> list[str]:
    """The lexicon's terms a description names (longest match, first ``FEEDBACK_DESC_TERMS``): the
    concepts of its prose without its filler words."""
    text = normalize(text)[:FEEDBACK_DESC_CHARS]
    out: list[str] = []
    i = 0
    while i < len(text) and len(out) < FEEDBACK_DESC_TERMS:
        term = table.match_at(text, i)
        if term:
            if term not in out:
                out.append(term)
            i += len(term)
        else:
            i += 1
    return out


# The third feedback list of ``_related``: the DESCRIPTION_TERMS words the best matches' descriptions stress.
# 10, 20 and 30 words, list weights 0.3, 0.5 and 1.0 measured on the validation sets (BENCHMARKS.md, "Eighth
# pass (descrel)"): at 1.0 the list's listings crowd out the other two lists' good ones; 20 at 0.5 raised both
# sets' recall most.
DESCRIPTION_TERMS = 20
DESCRIPTION_MAX_SHARE = 0.05  # a word in more of the index's listings than this says nothing of a topic
# ... nor one in more listings than this: it bounds the postings the list reads in a large index (at 100,000
# listings 5 % is 5,000 each; measured in BENCHMARKS.md) and changes nothing under 20,000 listings
DESCRIPTION_MAX_DOCS = 1000
# a listing this list finds must share at least this many of its words: one shared word (a unit, 预约, 荧光)
# is chance, and alone it put an AFM and a driving data set among PCR's related listings
DESCRIPTION_MIN_WORDS = 2
# a word weighing less than this share of the first (held only by a weak third match) counts for nothing
DESCRIPTION_MIN_WEIGHT = 0.2


def _words_held(per_word: dict, docs: list[int]) -> dict[int, int]:
    """How many of a query's concepts each of ``docs`` matches (``per_word``: ``fast.run``'s concept_docs)."""
    held = dict.fromkeys(docs, 0)
    wanted = np.array(docs, dtype=np.int64)
    for arrays in per_word.values():
        matched = np.concatenate(arrays)
        for d in wanted[np.isin(wanted, matched)].tolist():
            held[d] += 1
    return held


def _description_terms(searcher, descriptions: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The words the best matches' descriptions stress, with a weight in (0, 1]: a word's share of each
    description (weighted by that match's score relative to the best) times its idf in the index. Only
    words that some other listing holds (df >= 2) and that are not common to a large share of the
    index: learnt from the corpus, so it needs no word list (a relevance model, as in RM3)."""
    import math
    from collections import Counter

    from .analysis import jieba_words

    n = max(searcher.doc_count(), 1)
    weight: dict[str, float] = {}
    for text, doc_weight in descriptions:
        words = [w for w in jieba_words(normalize(text)) if len(w) >= 2 and not w.isdigit()]
        for w, c in Counter(words).items():
            weight[w] = weight.get(w, 0.0) + doc_weight * c / len(words)
    scored = []
    for w, tf in weight.items():
        df = searcher.doc_frequency("all_j", w)
        if df < 2 or df > min(n * DESCRIPTION_MAX_SHARE, DESCRIPTION_MAX_DOCS):
            continue
        if (score := tf * math.log(n / df)) > 0:  # a match weighing nothing (relative score 0) stresses nothing
            scored.append((w, score))
    scored.sort(key=lambda x: (-x[1], x[0]))
    # jieba's search mode also yields the parts of a long word (测器 of 检测器, 法学 of 方法学): the whole word
    # alone, or one listing holding it would count as sharing two words (DESCRIPTION_MIN_WORDS)
    words = [w for w, _x in scored[: 2 * DESCRIPTION_TERMS]]
    scored = [(w, x) for w, x in scored if not any(w != v and w in v for v in words)]
    scored = scored[:DESCRIPTION_TERMS]
    if not scored:
        return []
    top = scored[0][1]
    # a word only a weak match's description holds weighs next to nothing: it would only count as shared
    return [(w, x / top) for w, x in scored if x >= DESCRIPTION_MIN_WEIGHT * top]


def _generic(concept, strategy: Strategy = DEFAULT) -> bool:
    """A common word of requests: a generic head (检测, 分析, 平台 …), a word naming a kind (数据, 设备) or one of
    how a resource is offered (租赁, 预约, 计费: ``TRANSACTION_WORDS``, with ``Strategy.transaction_words``)."""
    from .query import GENERIC_HEADS, KIND_WORDS, TRANSACTION_WORDS

    return concept.text in GENERIC_HEADS or concept.text in KIND_WORDS \
        or (strategy.transaction_words and concept.text in TRANSACTION_WORDS)


def _few_matches(searcher, parsed: ParsedQuery, strategy: Strategy, filters, prefer) -> dict | None:
    """The run of ``parsed`` ({"top", "docset"}) if fewer than FILL_TO listings match it, else None.
    A word of the index's dictionary in FILL_TO documents or more settles it without a run."""
    from .query import _jieba_term

    for c in parsed.concepts:
        for v in c.variants:
            term = _jieba_term(v)
            if term and searcher.doc_frequency("all_j", term) >= FILL_TO:
                return None
    wq = build(parsed, strategy)
    if wq is None:
        return None
    allow = _allowed_docs(searcher, filters) if filters else None
    coverage = strategy.coverage if getattr(wq, "market_concepts", False) else 0.0
    top, docset = _strict_top(searcher, wq, allow, coverage, prefer, FEEDBACK_DOCS)
    return None if len(docset) >= FILL_TO else {"top": top, "docset": docset}


def _strict_top(searcher, wq, allow, coverage, prefer, limit):
    shape = fast.leaves(wq)
    if shape is None:
        return [], np.zeros(0, dtype=np.int64)
    return fast.run(searcher, shape[0], shape[1], allow, limit, coverage, alternatives=True, prefer=prefer)


def _feedback_lists(searcher, top: list[tuple[int, float]], strategy: Strategy) -> tuple[list, list]:
    """What the best matches (``top[:FEEDBACK_DOCS]``) are about, as two lists of concepts: the words of
    their titles and tags and the lexicon terms of their descriptions (pseudo-relevance feedback; a
    common word such as 数据库 at ``strategy.feedback_generic``), and the words their descriptions stress
    against the index (``_description_terms``, weighted; empty with ``description_feedback`` 0)."""
    from .query import Concept

    texts = []
    descriptions: list[tuple[str, float]] = []
    table = synonyms()
    ids = [int(searcher.stored_fields(g)["id"]) for g, _s in top[:FEEDBACK_DOCS]]
    if ids:
        rows = db.session.execute(select(Listing.id, Listing.title, Listing.tags, Listing.description)
                                  .where(Listing.id.in_(ids))).all()
        by_id = {r.id: r for r in rows}
        best_score = top[0][1] or 1.0
        for i, (_g, score) in zip(ids, top[:FEEDBACK_DOCS], strict=False):
            if i in by_id:
                row = by_id[i]
                description = plain_text(row.description or "")
                texts.append(" ".join([row.title or "", *[str(t) for t in row.tags or []],
                                       *_lexicon_terms(table, description)]))
                descriptions.append((" ".join([row.title or "", description]), score / best_score))
    as_words = dataclasses.replace(LITERAL, synonyms=strategy.synonyms, pinyin=False, hyponyms=False)
    fparsed = parse(" ".join(texts), table, as_words, known=known_words(searcher)) if texts else ParsedQuery("", [])
    feedback = list(fparsed.concepts[:FEEDBACK_CONCEPTS])
    for c in feedback:  # the matches' common words (the 数据库 of a title) find every listing of a kind:
        if _generic(c, strategy):  # they weigh less than the words naming what the matches are about
            c.weight = min(c.weight, strategy.feedback_generic)
    described = []
    if strategy.description_feedback and descriptions:
        described = [Concept((w,), weight=x) for w, x in _description_terms(searcher, descriptions)]
    return feedback, described


def _feedback_strategy(strategy: Strategy) -> Strategy:
    """How feedback words are searched (the related listings, the weak matches' order): as typed words (no
    pinyin), compounds split, every word a head (a modifier of the matches' titles is what they are about)."""
    return dataclasses.replace(strategy, pinyin=False, compounds=True, modifier_weight=strategy.head_weight)


def _related(searcher, parsed: ParsedQuery, strategy: Strategy, filters: dict[str, str], room: int,
             prefer: np.ndarray | None, run: dict | None = None) -> list[tuple[int, float]]:
    """Up to ``room`` listings that do not match the query but are related to what it found:
    a query for the matches' own titles and tags (pseudo-relevance feedback: a listing sharing the
    cryo-EM's tags 结构生物学, 蛋白质结构 is found for 冷冻电镜 although it never says it) together
    with the query's words, and, for a Chinese word of three characters or more, its bigrams each on
    their own (a looser OR: 冷冻电镜 -> 冷冻, 电镜). Scored by the same BM25 and concept coverage,
    listed after every match."""
    from .query import Concept

    allow = _allowed_docs(searcher, filters) if filters else None
    if run and "docset" in run:  # the matches, as the search (or _few_matches) ran them
        top, docset = run["top"], run["docset"]
    else:
        wq = build(parsed, strategy)
        if wq is None:
            return []
        coverage = strategy.coverage if getattr(wq, "market_concepts", False) else 0.0
        top, docset = _strict_top(searcher, wq, allow, coverage, prefer, FEEDBACK_DOCS)
    table = synonyms()
    feedback, described_all = _feedback_lists(searcher, top, strategy)
    loosened: list[Concept] = []
    freq = term_frequency(searcher) if strategy.index_counts else None
    seen = {c.text for c in parsed.concepts}
    single = len([c for c in parsed.concepts if not c.role and not c.initials]) == 1  # one need: its broader class too
    for c in parsed.concepts:  # the query's own words, loosened
        if c.initials or c.role:
            continue
        head = table.head_of(c.variants[:8]) if strategy.synonyms and strategy.related_heads else None
        if head and head not in seen:  # the known concept it is a kind of, with its members: siblings
            seen.add(head)
            group = table.groups.get(head, ())
            loosened.append(Concept((head, *[t for t in group if t != head]), synonym=bool(group),
                                    narrower=table.narrower((head, *group), freq=freq)))
        for parent in table.parents(c.variants) if strategy.synonyms and strategy.related_parents and single else ():
            if parent not in seen:  # a category the word is a member of (X光探伤 -> 无损检测), with its members
                seen.add(parent)
                group = table.groups.get(parent, ())
                loosened.append(Concept((parent, *[t for t in group if t != parent]), synonym=bool(group),
                                        narrower=table.narrower((parent, *group), freq=freq)))
        # every bigram of a long word on its own
        # (of what was typed, or of the word its pinyin sounds like; also of a synonym, unless what was
        # typed is a short Chinese word: 遥感 is not loosened into 卫星遥感's 卫星)
        cjk = [v for v in c.variants if _CJK_WORD.match(v)]
        if not cjk and strategy.loosen_mixed:  # X光机 = X射线机: the Chinese of a Latin + Chinese name (射线机)
            cjk = [run for v in c.variants for run in CJK_RUNS.findall(v) if len(run) >= 3]
        typed = cjk[0] if c.pinyin and cjk else c.text  # dianjing, 电境: the word they sound like
        short = not strategy.loosen_synonyms or (_CJK_WORD.match(typed) and len(typed) < 3)
        for word in cjk[: 1 if short else 2]:
            if len(word) >= 3 and _CJK_WORD.match(word):
                for bg in bigram_tokens(word):
                    if bg not in seen:
                        seen.add(bg)
                        loosened.append(Concept((bg,), role="modifier"))
    described: list[Concept] = []
    if strategy.description_feedback and described_all:
        have = {v for c in (*parsed.concepts, *feedback, *loosened) for v in c.variants}
        described = [c for c in described_all if c.text not in have]
    loose = _feedback_strategy(strategy)
    strict = set(docset.tolist())
    best: dict[int, float] = {}
    lists = [(feedback, 1.0), (loosened, 1.0), (described, strategy.description_feedback)]
    for concepts, list_weight in lists:  # each list scored on its own, normalised, summed (CombSUM)
        fq = build(ParsedQuery("", concepts), loose) if concepts else None
        shape = fast.leaves(fq) if fq is not None else None
        if shape is None:
            continue
        fcov = loose.coverage if getattr(fq, "market_concepts", False) else 0.0
        per_word: dict | None = {} if concepts is described and fcov else None
        got, _docs = fast.run(searcher, shape[0], shape[1], allow, room + len(strict), fcov, alternatives=True,
                              prefer=prefer, concept_docs=per_word)
        got = [(g, sc) for g, sc in got if g not in strict and sc > 0]
        if per_word is not None:  # one shared word (a unit, 预约) is chance: a neighbour shares several
            held = _words_held(per_word, [g for g, _sc in got])
            got = [(g, sc) for g, sc in got if held[g] >= DESCRIPTION_MIN_WORDS]
        elif concepts is described and DESCRIPTION_MIN_WORDS > 1:
            got = []
        if not got:
            continue
        top_score = got[0][1]
        for g, sc in got:
            best[g] = best.get(g, 0.0) + list_weight * sc / top_score
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:room]
    # the long tail is noise (a listing sharing one common bigram or tag): only those scoring at least
    # RELATED_MIN of the best related listing are shown
    floor = ranked[0][1] * RELATED_MIN if ranked else 0.0
    return [(int(searcher.stored_fields(g)["id"]), sc) for g, sc in ranked if sc >= floor]


# ---------------------------------------------------------------- weak matches: what the best ones are about
# A match scoring under this share of the best is weak: it holds a word of the request, often in passing (无人机 in a
# weather radar's description, 实时 in a PCR instrument's title), as the weak split of the ninth pass (BENCHMARKS.md).
ABOUT_STRONG = 0.5
# A weak match counts as being about what the best matches are about only if it shares at least this many of their
# words besides the query's own: one shared word is chance (as DESCRIPTION_MIN_WORDS among the related listings).
ABOUT_MIN_WORDS = 2


def _about_scores(searcher, lists, docs: list[int], strategy: Strategy) -> np.ndarray:
    """How much each of ``docs`` (global docnums) is about what ``lists`` of (feedback concepts, weight) say:
    each list scored at those documents only (``fast.run(only=...)``: a few dozen look-ups per word, not a pass
    over the postings of a large index), in the ``all`` fields, as a plain sum of its words' BM25 (no coverage: with 16 words
    the coverage factor makes one rare shared word worth nothing), kept for the documents sharing at least
    ABOUT_MIN_WORDS of its words, normalised by its best and summed with its weight (CombSUM, as ``_related``)."""
    out = np.zeros(len(docs), dtype=np.float64)
    if not docs:
        return out
    only = np.array(sorted(docs), dtype=np.int64)
    at = {d: i for i, d in enumerate(docs)}
    loose = _feedback_strategy(strategy)
    for concepts, list_weight in lists:
        fq = build(ParsedQuery("", concepts), loose) if concepts and list_weight else None
        shape = fast.leaves(fq) if fq is not None else None
        if shape is None or not getattr(fq, "market_concepts", False):  # one word cannot be two shared words
            continue
        # the ``all`` fields only (title, tags, description; the title's own fields add what the score of the
        # match already holds) and a concept's names summed (no per-concept rows of ``alternatives``): a fifth of
        # the work at 100,000 listings, the same recall on the three tuned sets (BENCHMARKS.md, "Eleventh pass")
        per_word: dict = {}
        leaves = [leaf for leaf in shape[0] if leaf.field.startswith("all_")]
        got, _docs = fast.run(searcher, leaves, shape[1], None, len(docs), 0.0, concept_docs=per_word, only=only)
        held = _words_held(per_word, [g for g, _sc in got])
        got = [(g, sc) for g, sc in got if held[g] >= ABOUT_MIN_WORDS and sc > 0]
        if not got:
            continue
        best = got[0][1]
        for g, sc in got:
            out[at[g]] += list_weight * sc / best
    return out


def _about_order(searcher, parsed: ParsedQuery, strategy: Strategy,
                 top: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """``top`` with its weak matches (under ABOUT_STRONG of the best score, among the first SPREAD_POOL)
    re-ordered by score x (1 + ``strategy.about_weak`` x sqrt(a)), ``a`` being how much each is about what the
    best matches are about, relative to the weak match most so (``_about_scores`` of the best matches' words,
    ``_feedback_lists``, less the query's own words: every weak match holds some of those). Learnt from the
    text of the best matches, not from a field of the listing (the ninth pass's track was the owner's sector).
    The strong matches keep their places and every listing its score; only the first SPREAD_POOL are
    re-ordered whatever the page, so the pages cut one ranking."""
    if len(top) <= FILL_TO or not top[0][1]:
        return top
    n_strong = 0
    while n_strong < len(top) and top[n_strong][1] >= ABOUT_STRONG * top[0][1]:
        n_strong += 1
    if n_strong >= FILL_TO:  # the first ten are all strong: nothing weak is shown
        return top
    pool = top[n_strong:SPREAD_POOL]
    # the best FEEDBACK_DOCS whether strong or not, as for the related listings: the strong ones alone (one or two
    # for most queries) measured worse on the validation sets' sentences (BENCHMARKS.md, "Eleventh pass")
    feedback, described = _feedback_lists(searcher, top, strategy)
    own = {v for c in parsed.concepts for v in c.variants}
    lists = [([c for c in feedback if not own & set(c.variants)], 1.0),
             ([c for c in described if c.text not in own], strategy.description_feedback)]
    about = _about_scores(searcher, lists, [g for g, _s in pool], strategy)
    most = float(about.max()) if len(about) else 0.0
    if most <= 0:
        return top
    lift = 1 + strategy.about_weak * np.sqrt(about / most)
    order = sorted(range(len(pool)), key=lambda i: (-pool[i][1] * lift[i], pool[i][0]))
    return top[:n_strong] + [pool[i] for i in order] + top[SPREAD_POOL:]


def _names_only_kinds(parsed: ParsedQuery, strategy: Strategy) -> bool:
    """Does the query ask for a kind of listing and nothing more (揭榜挂帅, 中试基地 出租, 有什么仪器)?"""
    from .query import KIND_WORDS, TRANSACTION_WORDS

    own = [c for c in parsed.concepts if not c.role]
    return bool(parsed.kinds) and bool(own) and all(
        c.text in KIND_WORDS or (strategy.transaction_words and c.text in TRANSACTION_WORDS) for c in own)


def _kind_listings(searcher, kinds: frozenset[str], filters: dict[str, str], room: int,
                   seen: set[int]) -> list[tuple[int, None]]:
    """Up to ``room`` listings of ``kinds`` not in ``seen``, the most recently added first: a query naming only a
    kind (揭榜挂帅: no scenario says so) browses that kind when its words match fewer listings than a page."""
    mask = _kind_mask(searcher, kinds) if room > 0 else None
    if mask is None:
        return []
    if filters:
        mask &= _allowed_docs(searcher, filters)
    reader = searcher.reader()
    out: list[tuple[int, None]] = []
    for g in np.flatnonzero(mask)[::-1]:  # the last indexed first
        if reader.is_deleted(int(g)):
            continue
        listing_id = int(searcher.stored_fields(int(g))["id"])
        if listing_id not in seen:
            seen.add(listing_id)
            out.append((listing_id, None))
            if len(out) >= room:
                break
    return out


KIND_PREFERENCE = 1.25  # score multiplier of the listings of a kind the query names (数据, 场景 …)


def _kind_mask(searcher, kinds: frozenset[str]) -> np.ndarray | None:
    """Per global document, is its kind one of ``kinds``? (None if no document can be: no such kind indexed.)"""
    names, codes = _facet_codes(searcher).get("kind", ([], None))
    wanted = [i for i, v in enumerate(names) if v in kinds]
    if codes is None or not wanted:
        return None
    return np.isin(codes, wanted)


def _kind_preference(searcher, kinds: frozenset[str]) -> np.ndarray | None:
    """Per global document, KIND_PREFERENCE if its kind is one the query names, else 1 (None if
    the query names no kind, or every kind)."""
    mask = _kind_mask(searcher, kinds) if kinds else None
    if mask is None or mask.all():
        return None
    return np.where(mask, KIND_PREFERENCE, 1.0)


SPREAD_POOL = 60  # candidates a concept's best listings are taken from (``_spread``)
SPREAD_MAX = 3  # listings moved into the first ten at most


def _spread(top: list[tuple[int, float]], matched: dict, groups: list[int], per_concept: int) -> list:
    """``top`` with, in its first FILL_TO, at least ``per_concept`` listings of each concept of
    ``groups`` (rarest first) that has them in the pool: each missing one is the concept's best
    listing further down, put in place of the last listings of the first ten (at most SPREAD_MAX)."""
    if len(top) <= FILL_TO:
        return top
    sets = {g: np.concatenate(matched[g]) if g in matched else np.zeros(0, dtype=np.int64) for g in groups}
    head, tail = [d for d, _s in top[:FILL_TO]], top[FILL_TO:]
    moved: list[tuple[int, float]] = []
    for g in sorted(groups, key=lambda g: len(sets[g])):
        if not len(sets[g]):
            continue
        def has(d: int, docs: np.ndarray = sets[g]) -> bool:  # docnums come sorted (segment by segment)
            i = int(np.searchsorted(docs, d))
            return i < len(docs) and int(docs[i]) == d

        have = sum(has(d) for d in head[: FILL_TO - len(moved)]) + sum(has(d) for d, _s in moved)
        for d, sc in tail[: SPREAD_POOL - FILL_TO]:  # the same pool on every page
            if have >= per_concept or len(moved) >= SPREAD_MAX:
                break
            if (d, sc) not in moved and has(d):
                moved.append((d, sc))
                have += 1
    if not moved:
        return top
    keep = top[: FILL_TO - len(moved)]
    rest = [x for x in top[FILL_TO - len(moved):] if x not in moved]
    return keep + moved + rest


def execute(searcher, wq, filters: dict[str, str], sort: str, page: int, per_page: int, with_facets: bool = True,
            coverage: float = 0.0, prefer: np.ndarray | None = None, keep: dict | None = None,
            spread: tuple[list[int], int] | None = None, reorder=None):
    """Run a built query: ([(listing id, score)] for the page, total, facet counts). One walk.

    ``coverage``: see ``fast.run`` (the concept-coverage factor; only on the vectorised path).
    ``spread``: (concept groups, n): the first ten hold n listings of each of those concepts if the
    query matches that many (``_spread``)."""
    limit = page * per_page
    flt = _filter_query(filters)
    shape = fast.leaves(wq) if sort == "relevance" else None
    if shape is not None:
        allow = _allowed_docs(searcher, filters) if flt is not None else None
        matched: dict | None = {} if spread and coverage else None
        pooled = matched is not None or reorder is not None
        top, docset = fast.run(searcher, shape[0], shape[1], allow, max(limit, SPREAD_POOL) if pooled
                               else limit, coverage, alternatives=True, prefer=prefer, concept_docs=matched)
        if reorder is not None:
            top = reorder(top)
        moved: list[int] = []
        if matched:
            before = {d for d, _s in top[:FILL_TO]}
            top = _spread(top, matched, spread[0], spread[1])
            moved = [d for d, _s in top[:FILL_TO] if d not in before]
        top = top[:limit]
        if keep is not None:  # the run itself, for the related listings (search), and what the spread moved
            keep.update(top=top, docset=docset,
                        spread={int(searcher.stored_fields(int(d))["id"]) for d in moved})
        window = top[(page - 1) * per_page : page * per_page]
        ids_scores = [(int(searcher.stored_fields(g)["id"]), score) for g, score in window]
        facets = _facet_counts(searcher, docset) if with_facets else {}
        return ids_scores, len(docset), facets
    if sort == "newest":
        collector = collectors.SortingCollector(sorting.FieldFacet("published", reverse=True), limit=limit)
    elif sort == "price":
        facet = sorting.MultiFacet([sorting.FieldFacet("price"), sorting.FieldFacet("published", reverse=True)])
        collector = collectors.SortingCollector(facet, limit=limit)
    else:
        collector = _TopWithDocset(limit=limit, usequality=False)
    inner = collector
    if flt is not None:
        collector = collectors.FilterCollector(collector, allow=flt)
    searcher.search_with_collector(wq, collector)
    results = collector.results()
    docset = np.fromiter(inner.docset, dtype=np.int64)  # every match: the total and facets need no 2nd query
    window = results[(page - 1) * per_page : page * per_page]
    ids_scores = [(int(h["id"]), h.score if sort == "relevance" else None) for h in window]
    facets = _facet_counts(searcher, docset) if with_facets else {}
    return ids_scores, len(docset), facets


class _TopWithDocset(collectors.TopCollector):
    """Top-N by score that also remembers every match (for the total and the facet counts)."""

    def _collect(self, global_docnum, score):
        self.docset.add(global_docnum)
        return collectors.TopCollector._collect(self, global_docnum, score)


_facet_cache: dict[tuple, dict] = {}


def _index_state(searcher) -> tuple:
    """The segments of a searcher and their deletion counts: what the document numbers mean."""
    return tuple(
        (seg.segment_id(), seg.deleted_count()) if seg is not None else None
        for seg in (s.reader().segment() for s, _o in searcher.leaf_searchers())
    )


def _facet_docsets(searcher) -> dict[str, dict[str, np.ndarray]]:
    """Per facet value, a boolean mask over the global document numbers; built once per index
    state (shared by the threads of a process, so the warm-up thread builds them for requests)."""
    key = (searcher.doc_count_all(), _index_state(searcher))
    cached = _facet_cache.get(key)
    if cached is None:
        reader = searcher.reader()
        n = searcher.doc_count_all()
        cached = {}
        for name, field in labels.FACET_FIELDS.items():
            values = {}
            for raw in reader.lexicon(field):
                value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                if value == "none":
                    continue
                values[value] = _mask(n, reader.postings(field, raw).all_ids())
            cached[name] = values
        _facet_cache.clear()  # one index state at a time
        _facet_cache[key] = cached
    return cached


WARM_QUERIES = ("电镜", "dianjing", "zpy", "SEM", "我们想找一台能观察材料表面形貌的扫描电镜", "电境", "electron microscopes")


def warm() -> float:
    """Load what a process's first queries on the current index would otherwise pay for: jieba
    and the synonyms, the searcher, each segment's posting arrays (``fast.SideArrays``, mapped)
    and field lengths, the facet masks, the "did you mean" vocabulary; then run a query of each
    shape once (code paths, imports). Returns the seconds it took."""
    from .analysis import init_jieba
    from .build import SCORED_FIELDS

    started = time.perf_counter()
    init_jieba()
    synonyms()
    searcher = store().searcher()
    for seg_searcher, _o in searcher.leaf_searchers():
        reader = seg_searcher.reader()
        if reader.segment() is None or not reader.doc_count_all():
            continue
        fast.side_arrays(reader)
        for field in SCORED_FIELDS:
            if field in searcher.schema:
                fast._field_lengths(reader, field)
    _facet_codes(searcher)
    vocabulary(searcher)
    for q in WARM_QUERIES:
        search(q, per_page=5)
    db.session.rollback()
    took = time.perf_counter() - started
    log.info("search index warmed in %.2f s", took)
    return took


def _mask(n: int, ids) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.fromiter(ids, dtype=np.int64)] = True
    return mask


def _allowed_docs(searcher, filters: dict[str, str]) -> np.ndarray:
    """The documents every filter allows, as a boolean mask over global document numbers."""
    sets = _facet_docsets(searcher)
    allowed = np.ones(searcher.doc_count_all(), dtype=bool)
    for name, value in filters.items():
        mask = sets.get(name, {}).get(value)
        if mask is None:  # "none" values are not facets but can be filtered on
            field, reader = labels.FACET_FIELDS[name], searcher.reader()
            ids = reader.postings(field, value).all_ids() if (field, value) in reader else ()
            mask = _mask(len(allowed), ids)
        allowed &= mask
    return allowed


_codes_cache: dict[tuple, dict] = {}


def _facet_codes(searcher) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per facet, its values and each document's value as an index into them (the last index:
    none). A facet field holds one value per listing, so its masks never overlap."""
    key = (searcher.doc_count_all(), _index_state(searcher))
    got = _codes_cache.get(key)
    if got is None:
        got = {}
        for name, values in _facet_docsets(searcher).items():
            names = list(values)
            codes = np.full(searcher.doc_count_all(), len(names), dtype=np.int16)
            for i, v in enumerate(names):
                codes[values[v]] = i
            got[name] = (names, codes)
        _codes_cache.clear()
        _codes_cache[key] = got
    return got


def _facet_counts(searcher, docs: np.ndarray) -> dict[str, dict[str, int]]:
    """Facet counts: one ``bincount`` per facet over the matching documents' values (numpy)."""
    out: dict[str, dict[str, int]] = {}
    for name, (names, codes) in _facet_codes(searcher).items():
        binc = np.bincount(codes[docs], minlength=len(names) + 1)
        counts = {v: int(binc[i]) for i, v in enumerate(names)}
        out[name] = {v: n for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n}
    return out


def _hydrate(ids_scores: list[tuple[int, float | None]], parsed: ParsedQuery, verify: bool = True,
             extra_terms: list[str] | None = None) -> list[Hit]:
    """Listings for the hits, from the database: only what is published *now* is shown."""
    if not ids_scores:
        return []
    ids = [i for i, _s in ids_scores]
    # one round trip: the owner comes in the same query (this runs on every search request)
    rows = db.session.execute(
        select(Listing).join(Listing.owner).options(contains_eager(Listing.owner)).where(Listing.id.in_(ids))
    ).scalars()
    by_id = {row.id: row for row in rows}
    terms = parsed.highlight_terms + [normalize(t) for t in extra_terms or []]
    hits = []
    for lid, score in ids_scores:
        listing = by_id.get(lid)
        if listing is None or (verify and listing.status != ListingStatus.PUBLISHED):
            continue
        hits.append(Hit(
            listing=listing,
            score=round(float(score), 4) if score is not None else None,
            title_html=highlight(listing.title, terms),
            highlight=highlight(plain_text(listing.description), terms, width=120),
        ))
    return hits


def known_words(searcher):
    """``known(word)``: does the index hold the word (an ASCII word, or every bigram of a Chinese
    one)? Term-dictionary look-ups only, cached for the query."""
    reader = searcher.reader()
    cache: dict[str, bool] = {}

    def known(word: str) -> bool:
        got = cache.get(word)
        if got is None:
            toks = bigram_tokens(word)
            got = bool(toks) and all(("all_g", t) in reader for t in toks)
            cache[word] = got
        return got

    return known


_freq_cache: dict[tuple, dict[str, int]] = {}
FREQ_CACHE_TERMS = 200_000


def term_frequency(searcher):
    """``freq(term)``: at most how many listings name the term — the fewest documents holding one of
    its bigrams in ``all`` (0 if one is missing). Term-dictionary look-ups, remembered per index
    state (the lexicon's terms recur in every query): for pinyin initials several lexicon groups
    share (``SynonymTable.by_initials``) and the members of a family (``SynonymTable.narrower``)."""
    reader = searcher.reader()
    key = (searcher.doc_count_all(), _index_state(searcher))
    cache = _freq_cache.get(key)
    if cache is None:
        _freq_cache.clear()  # one index state at a time
        cache = _freq_cache.setdefault(key, {})

    def freq(term: str) -> int:
        got = cache.get(term)
        if got is None:
            got = min((reader.doc_frequency("all_g", t) for t in bigram_tokens(term)), default=0)
            if len(cache) < FREQ_CACHE_TERMS:
                cache[term] = got
        return got

    return freq


def occurs_in(searcher):
    """``occurs(text)``: does some listing hold exactly this run of characters (the phrase of its
    bigrams in ``all``)? For the homophone correction: 和磁共振 is no listing's word although 和磁,
    磁共 and 共振 each occur somewhere."""
    known = known_words(searcher)

    def occurs(text: str) -> bool:
        grams = bigram_tokens(text)
        if not grams or not known(text):
            return False
        if len(grams) == 1:
            return True
        return _has_hits(searcher, Q.Phrase("all_g", grams))

    return occurs


def sounds_of(searcher):
    """``sounds(syllables)``: the title word of the index with exactly these fuzzy syllables (the
    most frequent), or None; built lazily from the "did you mean" vocabulary."""

    def sounds(syls) -> str | None:
        got = vocabulary(searcher).by_sound.get(" ".join(syls))
        return got[0] if got and len(syls) >= 2 else None

    return sounds


class Vocabulary:
    """The words of the titles (jieba terms), by their fuzzy pinyin: what "did you mean" may propose.

    Built once per index state (the segment ids), from the term dictionary; the pinyin of a word is
    cached across rebuilds (``pinyin._run``), so a rebuild after a sync is cheap.
    """

    def __init__(self, reader):
        best: dict[str, tuple[str, int]] = {}
        ascii_words: dict[str, int] = {}
        for raw, info in reader.iter_field("title_j"):
            word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            df = info.doc_frequency()
            if _CJK_WORD.match(word) and 2 <= len(word) <= 8:
                key = " ".join(pinyin.word_syllables(word))
                if key not in best or df > best[key][1]:
                    best[key] = (word, df)
            elif word.isascii() and word.isalpha() and len(word) >= 3:
                ascii_words[word] = df
        self.by_sound = best
        self.by_count: dict[int, list[str]] = {}
        for key in best:
            self.by_count.setdefault(key.count(" ") + 1, []).append(key)
        self.ascii = ascii_words

    def sounds_like(self, syls: tuple[str, ...] | list[str], typed: str = "", exact: bool = False) -> str | None:
        """The title word with these syllables, or (unless ``exact``) the nearest by pinyin edit distance that
        also shares a character with what was typed (never an unrelated fragment)."""
        from rapidfuzz import fuzz, process

        if not syls:
            return None
        key = " ".join(syls)
        if key in self.by_sound:
            return self.by_sound[key][0]
        if exact:
            return None
        choices = self.by_count.get(len(syls), [])
        for cand, score, _i in process.extract(key, choices, scorer=fuzz.ratio, score_cutoff=80, limit=5):
            word = self.by_sound[cand][0]
            if score >= 90 or (typed and set(word) & set(typed)):
                return word
        return None

    def looks_like(self, word: str) -> str | None:
        from rapidfuzz import fuzz, process

        got = process.extractOne(word, list(self.ascii), scorer=fuzz.ratio, score_cutoff=80)
        return got[0] if got and got[0][:1] == word[:1] else None


_CJK_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
_vocab_cache: dict[tuple, Vocabulary] = {}


def vocabulary(searcher) -> Vocabulary:
    key = tuple(sorted(str(getattr(s.reader().segment(), "segment_id", lambda: "")()) for s, _o in searcher.leaf_searchers()))
    got = _vocab_cache.get(key)
    if got is None:
        got = Vocabulary(searcher.reader())
        _vocab_cache.clear()  # one index state at a time
        _vocab_cache[key] = got
    return got


def suggest(parsed: ParsedQuery, searcher=None) -> str | None:
    """'Did you mean': words typed by sound (pinyin, homophone typos) or finding nothing are
    replaced by a title word that sounds like them (pinyin + edit distance); ASCII words by a
    title word spelt like them. None if nothing changes or the proposal finds nothing."""
    searcher = searcher or store().searcher()
    vocab = vocabulary(searcher)
    changed = parsed.corrected  # 和磁共振 was searched as 核磁共振: say so
    words = []
    # in a request of several words, a word typed by sound is proposed only as a word sounding exactly like it:
    # 电境 -> 电镜, but 选新 (of 来选新网点) is not 创新
    exact = parsed.is_request
    for concept in parsed.concepts:
        if concept.role:
            continue
        word = concept.text
        if concept.pinyin is not None and not concept.synonym:
            best = vocab.sounds_like(concept.pinyin, word, exact=exact)
        else:
            q = build(ParsedQuery(word, [concept]))
            if q is not None and _has_hits(searcher, q):
                words.append(word)
                continue
            if _CJK_WORD.match(word) and exact and language_word(word):
                best = None  # in a request, a word of the language the index lacks is not misspelt (地方 is not
                # 地产); typed alone it may be the input method's pick for a name (电竞 for 电镜), an exact
                # homophone then, not a near one (电阻 is not 电子)
            elif _CJK_WORD.match(word):
                best = vocab.sounds_like(pinyin.word_syllables(word), word, exact=language_word(word))
            elif word.isascii() and len(word) >= 3:
                best = vocab.looks_like(word)
            else:
                best = None
        if best and best != word:
            words.append(best)
            changed = True
        else:
            words.append(word)
    if not changed:
        return None
    text = " ".join(words)
    q = build(parse(text, synonyms(), LITERAL, known=known_words(searcher)))
    if q is None or not _has_hits(searcher, q):
        return None
    return text


def _has_hits(searcher, q) -> bool:
    """Does ``q`` match anything? (The vectorised scorer on cached postings; Whoosh otherwise.)"""
    shape = fast.leaves(q)
    if shape is None:
        return searcher.search(q, limit=1).scored_length() > 0
    _top, docs = fast.run(searcher, shape[0], None, None, 1)
    return len(docs) > 0


SIMILAR_POOL = 30
SIMILAR_SAME_TRACK = 0.5  # score multiplier bonus for the listing's own track
SIMILAR_SAME_KIND = 0.25
SIMILAR_MIN_SHARE = 0.4  # of the best candidate's score: weaker ones from another track are noise


def similar(listing: Listing, limit: int = 5) -> list[Listing]:
    """Published listings like this one: its title and tags as a query (synonyms, compounds, rarity
    weighting by BM25), then the same track and kind first; a weak match from another track
    (sharing only a generic word such as 人工智能 or 研发) is left out."""
    text = " ".join([listing.title, *[str(t) for t in listing.tags or []]])
    searcher = store().searcher()
    parsed = parse(text, synonyms(), dataclasses.replace(LITERAL, pinyin=False), known=known_words(searcher))
    wq = build(parsed, dataclasses.replace(DEFAULT, combine="or", pinyin=False))
    if wq is None:
        return []
    shape = fast.leaves(wq)
    if shape is not None:  # the vectorised scorer, with the concept-coverage weighting of search()
        coverage = DEFAULT.coverage if getattr(wq, "market_concepts", False) else 0.0
        top, _docs = fast.run(searcher, shape[0], shape[1], None, SIMILAR_POOL + 1, coverage, alternatives=True)
        found = [(searcher.stored_fields(g), score) for g, score in top]
    else:
        found = [(h.fields(), h.score) for h in searcher.search(wq, limit=SIMILAR_POOL + 1)]
    scored = []
    for fields, score in found:
        if fields["id"] == str(listing.id):
            continue
        same_track = fields["track"] == (listing.track or "other")
        same_kind = fields["kind"] == listing.kind
        scored.append((score * (1 + SIMILAR_SAME_TRACK * same_track + SIMILAR_SAME_KIND * same_kind), same_track, int(fields["id"])))
    if not scored:
        return []
    top = max(sc for sc, _t, _i in scored)
    kept = [(sc, i) for sc, same_track, i in scored if same_track or sc >= SIMILAR_MIN_SHARE * top]
    kept.sort(key=lambda x: -x[0])
    hits = _hydrate([(i, sc) for sc, i in kept[: limit + 1]], parsed)
    return [h.listing for h in hits][:limit]


# ---------------------------------------------------------------- outbox and rebuild
def _load(ids: set[int]) -> dict[int, Listing]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Listing).options(selectinload(Listing.owner)).where(Listing.id.in_(ids))
    ).scalars()
    return {row.id: row for row in rows}


@outbox.handler("search.index", batch=True)
def index_changes(messages: list[outbox.Message]) -> None:
    """Outbox handler: apply listing changes to the index (a batch at a time, one index commit).

    Listings are read from the database *after* taking the writer lock, and the rows are marked
    delivered only after the index commit: a crash in between re-applies them (upserts are
    idempotent), so the index may lag the database but never leads it. A writer lock held longer
    than ``SEARCH_SYNC_TIMEOUT`` (a rebuild) defers the rows without using up an attempt.
    """
    timeout = float(current_app.config.get("SEARCH_SYNC_TIMEOUT", 10.0))
    ids = {int(m.payload["listing_id"]) for m in messages}
    st = store()
    try:
        with st.writer_lock(timeout):
            synonyms()  # documents are cut with the lexicon's words, as a rebuild cuts them
            listings = _load(ids)
            if st.outdated():  # an index from before a schema change (e.g. the pinyin fields): rebuild it
                log.info("search index schema is outdated; rebuilding")
                _count, mined = _build_index(st)
                merge_mined(aliases.mine_all(mined))
                _queue_alerts(listings.values())
                return
            writer = st.ensure().writer(timeout=timeout, delay=0.05)
            try:
                for lid in sorted(ids):
                    listing = listings.get(lid)
                    if listing is not None and listing.status == ListingStatus.PUBLISHED:
                        writer.update_document(**document(listing))
                    else:
                        writer.delete_by_term("id", str(lid))
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            _export_merged(st)  # a merge that made a large segment gets its posting arrays
    except IndexBusy as err:
        raise outbox.Defer("search index busy") from err
    published = [x for x in listings.values() if x.status == ListingStatus.PUBLISHED]
    mined: list[tuple[str, str]] = []
    for x in published:
        _collect_aliases(mined, x)
    merge_mined(aliases.mine_all(mined))  # committed with the rows' delivered mark
    _embed_changed([x.id for x in published])
    _queue_alerts(listings.values())


def _queue_alerts(listings) -> None:
    published = sorted(x.id for x in listings if x.status == ListingStatus.PUBLISHED)
    if published:  # alerts run after the index has the listings (they are matched by searching it)
        outbox.enqueue("search.alert", {"listing_ids": published})


@outbox.handler("search.alert")
def alert_saved_searches(message: outbox.Message) -> None:
    """Outbox handler: notify saved searches that match newly published listings (once per pair)."""
    listings = _load({int(i) for i in message.payload["listing_ids"]})
    notify_saved_searches([x for x in listings.values() if x.status == ListingStatus.PUBLISHED])


SEARCH_TOPICS = ("search.index", "search.alert")


def rebuild_if_outdated() -> bool:
    """Rebuild an index whose schema is older than the code's (scheduler job; idempotent)."""
    if not store().outdated():
        return False
    log.info("search index schema is outdated; rebuilding")
    reindex()
    return True


def sync_outbox(limit: int = 1_000_000) -> int:
    """Bring the index (and saved-search alerts) up to date now; returns the rows delivered.

    An index from before a schema change (e.g. the pinyin fields) is rebuilt first: the handler
    only updates documents, it never changes the schema."""
    rebuild_if_outdated()
    return outbox.drain(limit=limit, topics=SEARCH_TOPICS).delivered


def _export_merged(st: IndexStore) -> None:
    """Posting arrays for a large segment a sync's merge produced (best effort: without them
    the readers decode Whoosh's blocks)."""
    from .build import SCORED_FIELDS

    try:
        fast.export_missing(st.ensure(), SCORED_FIELDS)
    except Exception:  # noqa: BLE001 - an optimisation only; the index itself is committed
        log.exception("writing posting arrays after a sync failed")


def _embed_changed(listing_ids: list[int]) -> None:
    """The vectors of a few changed listings now (``semantic``); a bulk change waits for the ``search.embed`` job.
    Best effort: a page whose listings lack vectors keeps the ranker's order."""
    if not listing_ids or len(listing_ids) > semantic.INLINE_EMBED:
        return
    try:
        with db.session.begin_nested():
            semantic.embed_pending(listing_ids)
    except Exception:  # noqa: BLE001 - the index update itself is done; the job tries again
        log.exception("embedding changed listings failed")


def _collect_aliases(out: list[tuple[str, str]], listing: Listing) -> None:
    """Keep (ref, text) of a listing whose text holds an alias pattern (``aliases.pairs``)."""
    text = " ".join([listing.title or "", *[str(t) for t in listing.tags or []], plain_text(listing.description)])
    if aliases.pairs(text):
        out.append((listing.ref or str(listing.id), text))


def _build_index(st: Any, procs: int = 1, limitmb: int = 128) -> tuple[int, list[tuple[str, str]]]:
    """Write every published listing into a new index directory and swap it in (the caller holds
    the writer lock); returns the count and the alias candidates met on the way. ``procs`` > 1
    writes the segments in forked processes (``build.py``)."""
    from . import build

    ids = list(db.session.execute(
        select(Listing.id).where(Listing.status == ListingStatus.PUBLISHED).order_by(Listing.id)
    ).scalars())
    with st.build_new() as ix:
        return build.build(db.session, db.engine, ix, ids, procs, limitmb)


def reindex(procs: int = 1, limitmb: int = 128, timeout: float = 600.0) -> int:
    """Rebuild the index from the database in a new directory, then swap it in atomically.

    Like :func:`sync_outbox` a drain, not a service: it commits the outbox rows it covered.
    ``procs`` > 1 writes the segments in that many forked processes (``build.py``); each segment's
    posting arrays are written with it, so readers start warm (``fast.SideArrays``)."""
    from market.web import commit

    st = store()
    with st.writer_lock(timeout):
        # Rows visible now are covered by the rebuild: the listings are read after this point.
        pending = outbox.pending("search.index")
        synonyms(refresh=True)  # the lexicon's words in jieba before any document is cut
        count, mined = _build_index(st, procs, limitmb)
        if pending:
            outbox.mark_delivered([m.id for m in pending])
            _queue_alerts(_load({int(m.payload["listing_id"]) for m in pending}).values())
        merge_mined(aliases.mine_all(mined))
        commit()  # a boundary like sync_outbox: the rows are done once the new index is in place
    sync_outbox()  # whatever was committed while we were building
    return count


# ---------------------------------------------------------------- saved searches
def notify_saved_searches(listings: list[Listing]) -> int:
    """Tell users whose saved search matches a newly published listing (once per pair)."""
    if not listings:
        return 0
    saved = list(db.session.execute(select(SavedSearch).options(selectinload(SavedSearch.user))).scalars())
    if not saved:
        return 0
    from market.notifications.services import notify

    by_id = {x.id: x for x in listings}
    mask = Q.Or([Q.Term("id", str(i)) for i in by_id])
    searcher = store().searcher()
    sent = 0
    for s in saved:
        if s.user is None or not s.user.active:
            continue
        translated = as_english(s.query, searcher)
        text = translated.query if translated is not None else s.query
        parsed = parse(text, synonyms(), dataclasses.replace(LITERAL, lexicon_heads=False))  # alerts: no wider than before
        wq = build(parsed) or Q.Every()
        flt = _filter_query(s.filters or {})
        combined = Q.And([mask, flt]) if flt is not None else mask
        hits = [int(h["id"]) for h in searcher.search(wq, filter=combined, limit=None)]
        fresh = [by_id[i] for i in hits if by_id[i].published_at is None or by_id[i].published_at >= s.created_at]
        if not fresh:
            continue
        already = set(db.session.execute(
            select(SavedSearchMatch.listing_id).where(
                SavedSearchMatch.saved_search_id == s.id, SavedSearchMatch.listing_id.in_([x.id for x in fresh])
            )
        ).scalars())
        for listing in fresh:
            if listing.id in already:
                continue
            db.session.add(SavedSearchMatch(saved_search_id=s.id, listing_id=listing.id))
            notify(
                s.user, "search.saved_match",
                _l("您保存的搜索“%(name)s”有新结果", name=s.name),
                listing.title,
                _listing_link(listing),
            )
            sent += 1
        s.last_notified_at = dt.datetime.now(dt.UTC)
    return sent


def _listing_link(listing: Listing) -> str:
    from . import listing_url

    return listing_url(listing)


def save_search(user: User, name: str, q: str, filters: dict[str, Any]) -> SavedSearch:
    permissions.require(user, "search.save", user)
    name = (name or "").strip() or (q or "").strip()[:50] or _("全部资源")
    if len(name) > 100:
        raise ValidationError(_("名称不超过 100 个字符。"), "name")
    q = (q or "").strip()
    if len(q) > 500:
        raise ValidationError(_("搜索词不超过 500 个字符。"), "q")
    filters = clean_filters(filters)
    count = db.session.execute(select(SavedSearch.id).where(SavedSearch.user_id == user.id)).all()
    if len(count) >= 50:
        raise ValidationError(_("最多保存 50 个搜索，请先删除不用的。"))
    row = SavedSearch(user_id=user.id, name=name, query=q, filters=filters)
    db.session.add(row)
    audit.record(user, "search.saved", row, None, audit.snapshot(row))
    db.session.flush()
    return row


def delete_saved_search(user: User, saved_id: int) -> None:
    row = get_or_404(SavedSearch, saved_id, _("保存的搜索不存在。"))
    permissions.require(user, "search.saved_manage", row)
    audit.record(user, "search.saved_deleted", row, audit.snapshot(row), None)
    db.session.execute(delete(SavedSearchMatch).where(SavedSearchMatch.saved_search_id == row.id))
    db.session.delete(row)
    db.session.flush()


def saved_searches(user: User) -> list[SavedSearch]:
    return list(db.session.execute(
        select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.created_at.desc())
    ).scalars())

