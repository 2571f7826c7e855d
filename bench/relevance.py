"""Relevance benchmark: nDCG@10 and recall@10 per query type on tests/data/relevance/.

    PYTHONPATH=$PWD .venv/bin/python bench/relevance.py [--data DIR] [--default-only] [--no-lexicon] [--per-query] [--json]
        [--similar] [--english]

``--data`` runs on another collection with the same layout (``orgs.jsonl``, ``listings*.jsonl``,
``queries.yaml``), e.g. the independent test set ``tests/data/relevance_test``. The synonym table
is what a fresh ``db upgrade`` holds: the shipped lexicon (``search.seed_synonyms``), plus what
the reindex mines from the collection itself.

``--english`` judges the collection's English queries (``queries_en.yaml``: types name, general, multi, sentence)
instead, with and without the English glossary (``market/search/english.py``).

``--similar`` also judges the similar-listings box (``services.similar``) on the same collection: each listing
graded 3 for a query is a box's seed, the other listings judged for that query what it should show
(``similar_cases``).

Compares our search (several analyzer/query strategies) with a plain whole-string substring
search over title + tags + description. The regression test (tests/integration/
test_search_relevance.py) uses the same functions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "relevance"
TYPES = ("exact", "partial", "synonym", "abbreviation", "multi", "sentence", "typo_pinyin")
ENGLISH_TYPES = ("name", "general", "multi", "sentence")  # queries_en.yaml
QUERIES = "queries.yaml"  # queries_en.yaml with --english


def set_data(path: str | Path) -> None:
    """Point the benchmark at another collection directory."""
    global DATA
    DATA = Path(path).resolve()


@contextlib.contextmanager
def indexed(path: str | Path, lexicon: bool = True):
    """The collection at ``path`` in the current app's database and index, as a fresh install holds it once the
    scheduler's jobs have run (the shipped lexicon unless ``lexicon`` is False, the listings, the index and its
    mined aliases, the vectors); the benchmark points at its previous collection again afterwards."""
    from market.search.semantic import embed_pending
    from market.search.services import reindex, seed_synonyms

    previous = DATA
    set_data(path)
    try:
        if lexicon:
            seed_synonyms()
        load_into_db()
        reindex()
        embed_pending()
        yield
    finally:
        set_data(previous)


K = 10


def listings_data() -> list[dict]:
    rows = []
    for path in sorted(DATA.glob("listings*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def queries(name: str | None = None) -> list[dict]:
    """The collection's judged queries: ``QUERIES`` unless ``name`` (queries_en.yaml: the English ones)."""
    return yaml.safe_load((DATA / (name or QUERIES)).read_text(encoding="utf-8"))


def load_into_db() -> dict[str, int]:
    """Create the organisations and published listings (needs an app context). ref -> id."""
    from market.extensions import db
    from market.orgs.uscc import make_valid_uscc
    from models.listings import Listing
    from models.organisations import Organisation

    orgs = {}
    for n, line in enumerate((DATA / "orgs.jsonl").read_text(encoding="utf-8").splitlines(), start=1):
        o = json.loads(line)
        org = Organisation(ref=o["ref"], name=o["name"], kind=o["kind"], uscc=make_valid_uscc(700000 + n),
                           verification_status="verified", in_district=True)
        db.session.add(org)
        orgs[o["ref"]] = org
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    listings = []
    for i, row in enumerate(listings_data()):
        listing = Listing(
            ref=row["ref"], kind=row["kind"], owner=orgs[row["owner"]], title=row["title"],
            description=row["description"], tags=row.get("tags", []), track=row.get("track", "other"),
            status="published", published_at=base + dt.timedelta(hours=i),
            budget_cny=Decimal(row["budget_cny"]) if row.get("budget_cny") else None,
            rate_cny_per_hour=Decimal(row["rate_cny_per_hour"]) if row.get("rate_cny_per_hour") else None,
            open_mode=row.get("open_mode"),
        )
        db.session.add(listing)
        listings.append(listing)
    db.session.commit()
    return {x.ref: x.id for x in listings}


# ---------------------------------------------------------------- metrics
def ndcg(ranked: list[str], rel: dict[str, int], k: int = K) -> float:
    dcg = sum((2 ** rel.get(r, 0) - 1) / math.log2(i + 2) for i, r in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], rel: dict[str, int], k: int = K) -> float:
    wanted = {r for r, g in rel.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


# ---------------------------------------------------------------- the similar-listings box
SIMILAR_K = 5  # what the box under a listing shows


def similar_cases() -> list[tuple[str, str, dict[str, int]]]:
    """(query id, seed ref, the other listings judged for that query): every listing graded 3 for a query (exactly
    what was asked for) is the seed of a similar-listings box, and the listings judged relevant to the same need
    (its other grades, 1-3) are what that box should show. The judges graded needs, not pairs of listings: a
    listing useful for the need the seed answers is a listing like it."""
    cases = []
    for q in queries():
        for seed, grade in q["rel"].items():
            others = {r: g for r, g in q["rel"].items() if r != seed and g > 0}
            if grade == 3 and others:
                cases.append((q["id"], seed, others))
    return cases


def evaluate_similar(similar_refs) -> dict[str, float]:
    """nDCG@5, precision (judged listings among those shown; an empty box counts 0) and recall@5 (of at most five
    judged listings) of ``similar_refs(seed ref) -> refs shown``, averaged over ``similar_cases``."""
    nd, prec, rec = [], [], []
    cases = similar_cases()
    for _qid, seed, others in cases:
        shown = similar_refs(seed)[:SIMILAR_K]
        nd.append(ndcg(shown, others, SIMILAR_K))
        prec.append(sum(1 for r in shown if others.get(r, 0) > 0) / len(shown) if shown else 0.0)
        rec.append(sum(1 for r in shown if others.get(r, 0) > 0) / min(SIMILAR_K, len(others)))
    n = len(cases) or 1
    return {"ndcg": sum(nd) / n, "precision": sum(prec) / n, "recall": sum(rec) / n, "n": len(cases)}


def ours_similar():
    from market.extensions import db
    from market.search.services import similar
    from models.listings import Listing

    by_ref = {x.ref: x for x in db.session.query(Listing)}  # one query, not one per box

    def run(seed: str) -> list[str]:
        return [x.ref for x in similar(by_ref[seed], limit=SIMILAR_K)]

    return run


def substring_baseline(rows: list[dict]):
    """Whole query string as a substring of title, tags or description (title hits first)."""

    def run(q: str) -> list[str]:
        needle = q.strip().lower()
        scored = []
        for i, row in enumerate(rows):
            fields = [row["title"], " ".join(row.get("tags", [])), row["description"]]
            hit = [needle in f.lower() for f in fields]
            if any(hit):
                scored.append((hit.index(True), i, row["ref"]))
        return [ref for *_x, ref in sorted(scored)]

    return run


def ours(strategy):
    from market.search.services import search

    def run(q: str) -> list[str]:
        result = search(q, per_page=K, strategy=strategy, with_facets=False)
        return [h.listing.ref for h in [*result.hits, *result.related]]  # the page, as shown

    return run


def evaluate(run, judged: list[dict] | None = None) -> dict[str, dict[str, float]]:
    """{type: {"ndcg": .., "recall": .., "n": ..}} plus "all", over ``judged`` (default: ``queries()``)."""
    acc: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for q in judged if judged is not None else queries():
        ranked = run(q["q"])
        pair = (ndcg(ranked, q["rel"]), recall(ranked, q["rel"]))
        acc[q["type"]].append(pair)
        acc["all"].append(pair)
    return {
        t: {"ndcg": sum(p[0] for p in v) / len(v), "recall": sum(p[1] for p in v) / len(v), "n": len(v)}
        for t, v in acc.items()
    }


def strategies() -> dict[str, dict | None]:
    """Name -> ``Strategy`` keyword arguments (None: the substring baseline)."""
    return {
        "substring baseline": None,
        "jieba only": dict(bigram=False),
        "bigram only": dict(jieba=False),
        "no synonyms (neither lexicon nor mined)": dict(synonyms=False),
        "AND of concepts": dict(combine="and"),
        "no pinyin": dict(pinyin=False),
        "no compound head/modifier parts": dict(compounds=False),
        "no concept-coverage weighting": dict(coverage=0.0),
        "coverage weighting not squared (1.0)": dict(coverage=1.0),
        "no category members (hyponyms)": dict(hyponyms=False),
        "a concept's names add up (no best-name scoring)": dict(max_variants=False),
        "no kind preference": dict(kinds=False),
        "no related listings after few matches": dict(fill=False),
        "no heads from the lexicon (jieba heads only)": dict(lexicon_heads=False),
        "no spread of the first ten over known concepts": dict(spread=0),
        "no category parents among related listings": dict(related_parents=False),
        "no synonym bigrams among related listings": dict(loosen_synonyms=False),
        "no family words inside combined names": dict(containing=False),
        "no filler weighting in sentences": dict(filler_freq=False),
        "no broader family of a long name's head": dict(broader_heads=False),
        "no overlapping lexicon terms": dict(overlaps=False),
        "no modifier-only split": dict(modifier_split=False),
        "no parts of a Latin+Chinese name": dict(mixed_parts=False),
        "common words of the feedback at full weight": dict(feedback_generic=1.0),
        "no stem before a common head": dict(generic_stems=False),
        "lexicon counts, not the index's (initials, pinyin, members)": dict(index_counts=False),
        "no typed word joined to the pinyin after it": dict(joined_pinyin=False),
        "no task purposes (data/purposes.yaml)": dict(purposes=False),
        "no part-of-speech fillers in sentences": dict(function_words=False),
        "purpose verbs at full weight in sentences": dict(purpose_verbs=False),
        "no description words among the related listings' feedback": dict(description_feedback=0.0),
        "weak matches not ordered by what the best matches are about": dict(about_weak=0.0),
        "glued words of a sentence read as typos": dict(glued_words=False),
        "no stem of a short name before a common head": dict(short_stems=False),
        "a Latin name typed without its separators not respelt": dict(latin_spellings=False),
        "words of how a resource is offered not common words": dict(transaction_words=False),
        "category words jieba splits not one concept": dict(category_terms=False),
        "lone characters not joined to the word next to them": dict(lone_chars=False),
        "an instrument's category word (色谱 of 色谱仪) not one of its names": dict(instrument_stems=False),
        "a task's families a common word of the query finds left out": dict(purposes_past_generic=False),
        "words of how a resource is offered at full weight beside what is sought": dict(offer_light=False),
        "a query naming only a kind does not browse it": dict(kind_browse=False),
        "no Chinese of a Latin + Chinese name among related listings": dict(loosen_mixed=False),
        "the other readings of a sound naming a word of the index at full weight": dict(other_readings=1.0),
        "default": {},
    }


ENGLISH_STRATEGIES = {"substring baseline": None, "English words as typed (no glossary)": dict(english=False),
                      "default": {}}


def run_all(default_only: bool = False) -> dict[str, dict]:
    rows = listings_data()
    out = {}
    from market.search.query import Strategy

    for name, kwargs in (ENGLISH_STRATEGIES if QUERIES != "queries.yaml" else strategies()).items():
        if default_only and name != "default":
            continue
        run = substring_baseline(rows) if kwargs is None else ours(Strategy(**kwargs))
        out[name] = evaluate(run)
    return out


def markdown(results: dict[str, dict]) -> str:
    present = set().union(*(res.keys() for res in results.values())) if results else set()
    cols = [t for t in dict.fromkeys((*TYPES, *ENGLISH_TYPES)) if t in present] + ["all"]
    head = "| strategy | " + " | ".join(f"{c} nDCG / R" for c in cols) + " |"
    sep = "|---" * (len(cols) + 1) + "|"
    lines = [head, sep]
    for name, res in results.items():
        cells = [f"{res[c]['ndcg']:.3f} / {res[c]['recall']:.3f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    global QUERIES
    if "--data" in sys.argv:
        set_data(sys.argv[sys.argv.index("--data") + 1])
    if "--english" in sys.argv:
        QUERIES = "queries_en.yaml"
    os.environ.setdefault("MARKET_ENV", "testing")
    sys.path.insert(0, str(ROOT))
    from market import create_app
    from market.extensions import db
    from models.base import Base

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/rel.db", "SEARCH_INDEX_DIR": f"{tmp}/index"})
        with app.app_context(), app.test_request_context():
            Base.metadata.create_all(db.engine)
            # --no-lexicon: only the aliases mined from the data
            with indexed(DATA, lexicon="--no-lexicon" not in sys.argv):
                results = run_all(default_only="--default-only" in sys.argv)
                if "--similar" in sys.argv:
                    results_similar = evaluate_similar(ours_similar())
                if "--per-query" in sys.argv:
                    from market.search.query import Strategy

                    run = ours(Strategy())
                    for q in queries():
                        ranked = run(q["q"])
                        print(f"{q['id']} {ndcg(ranked, q['rel']):.2f} {recall(ranked, q['rel']):.2f} {q['q']} -> "
                              f"{' '.join(ranked)}")
            db.session.remove()
            db.engine.dispose()
    if "--json" in sys.argv:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        print(markdown(results))
    if "--similar" in sys.argv:
        sim = results_similar
        print(f"\nsimilar listings ({sim['n']} boxes, {SIMILAR_K} shown): nDCG@{SIMILAR_K} {sim['ndcg']:.3f}, "
              f"precision {sim['precision']:.3f}, recall@{SIMILAR_K} {sim['recall']:.3f}")


if __name__ == "__main__":
    main()


