"""The blind search validation sets (tests/data/relevance_val, relevance_val2 and relevance_val3, issue 12) are well formed.

Structure only: unique refs with each set's prefix, ownership per CONTRACT.md, every judged ref exists,
enough listings and queries of every type. The grades themselves are the assessors'; the first two sets may
be tuned on, the third is never tuned on (the lead measures it), and a grade is changed only for a stated
reason, never here. Each set keeps its own checker
(``check.py`` beside its data, written by its assessor); the same tests run every one.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from market.orgs.uscc import uscc_problem

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class ValidationSet:
    name: str  # the folder under tests/data
    prefix: str  # of its listing refs
    listings: int  # at least
    queries: int  # at least
    per_type: dict[str, int] = field(default_factory=dict)  # more queries than the usual ten of these types
    written_on: str | None = None  # the date RULES.md gives
    tuned_on: bool = True  # False: measured by the lead only, and RULES.md says so

    @property
    def path(self) -> Path:
        return DATA / self.name


SETS = [
    ValidationSet("relevance_val", "V", listings=300, queries=70),
    ValidationSet("relevance_val2", "W", listings=320, queries=95, per_type={"synonym": 22, "sentence": 22},
                  written_on="2026-12-06"),
    ValidationSet("relevance_val3", "Y", listings=320, queries=100, per_type={"synonym": 22, "sentence": 25},
                  written_on="2026-12-06", tuned_on=False),
]
_checkers: dict[str, ModuleType] = {}


def checker(s: ValidationSet) -> ModuleType:
    if s.name not in _checkers:
        spec = importlib.util.spec_from_file_location(f"{s.name}_check", s.path / "check.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _checkers[s.name] = module
    return _checkers[s.name]


@pytest.fixture(params=SETS, ids=lambda s: s.name)
def vset(request) -> ValidationSet:
    return request.param


def test_the_set_passes_its_checker(vset):
    check = checker(vset)
    assert check.check(vset.path) == []
    assert check.main([str(vset.path)]) == 0


def test_the_rules_exist_and_the_collection_has_its_size(vset):
    check = checker(vset)
    rules = (vset.path / "RULES.md").read_text(encoding="utf-8")
    assert rules.count("grade") > 5
    if vset.tuned_on:
        assert "may be tuned on" in rules
    else:
        assert "never tuned on" in rules and "may be tuned on" not in rules
    if vset.written_on:
        assert vset.written_on in rules
    orgs, listings, queries, _ = check.load(vset.path)
    assert 30 <= len(orgs) <= 40
    assert len(listings) >= vset.listings
    assert len(queries) >= vset.queries
    assert {d["kind"] for d in listings} == set(check.OWNERS)
    assert {d["track"] for d in listings} == check.TRACKS
    per_type = {t: sum(q["type"] == t for q in queries) for t in check.QUERY_TYPES}
    assert min(per_type.values()) >= 10, per_type
    assert all(per_type[t] >= n for t, n in vset.per_type.items()), per_type


def test_every_ref_carries_the_sets_prefix(vset):
    check = checker(vset)
    orgs, listings, queries, _ = check.load(vset.path)
    assert all(o["ref"].startswith(check.ORG_PREFIX[o["kind"]]) for o in orgs)
    assert all(d["ref"].startswith(vset.prefix) and len(d["ref"]) == 5 for d in listings)
    assert all(ref.startswith(vset.prefix) for q in queries for ref in q["rel"])


def test_typo_and_abbreviation_queries_state_their_intent(vset):
    _, _, queries, _ = checker(vset).load(vset.path)
    for q in queries:
        if q["type"] in ("typo_pinyin", "abbreviation"):
            assert q.get("intent", "").strip(), q["id"]


def test_every_uscc_is_accepted_by_the_application_validator(vset):
    check = checker(vset)
    orgs, _, _, _ = check.load(vset.path)
    assert all(uscc_problem(o["uscc"]) is None for o in orgs)
    assert all(check.uscc_ok(o["uscc"]) for o in orgs)


@pytest.fixture
def copy(vset, tmp_path):
    for name in ("orgs.jsonl", "listings.jsonl", "queries.yaml"):
        shutil.copy(vset.path / name, tmp_path / name)
    return tmp_path


def _rewrite(directory: Path, filename: str, target: str, **changes) -> None:
    path = directory / filename
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if row["ref"] == target:
            row.update(changes)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


@pytest.mark.parametrize("owner_kind, listing_kind", [
    ("sme", "instrument"),  # an instrument owned by an SME
    ("university", "public_data"),  # public data not owned by a government body
])
def test_checker_refuses_a_listing_its_owner_may_not_own(vset, copy, owner_kind, listing_kind):
    check = checker(vset)
    owner = next(o["ref"] for o in check.load(copy)[0] if o["kind"] == owner_kind)
    listing = next(d["ref"] for d in check.load(copy)[1] if d["kind"] == listing_kind)
    _rewrite(copy, "listings.jsonl", listing, owner=owner)
    assert any(f"may not own a {listing_kind}" in p for p in check.check(copy))


def test_checker_refuses_a_bad_uscc_and_a_mismatched_org_prefix(vset, copy):
    check = checker(vset)
    orgs = check.load(copy)[0]
    first = orgs[0]
    broken = first["uscc"][:17] + ("0" if first["uscc"][17] != "0" else "1")
    _rewrite(copy, "orgs.jsonl", first["ref"], uscc=broken, kind="government")
    problems = check.check(copy)
    assert any("fails the GB 32100-2015 check" in p for p in problems)
    assert any(f"must start with '{vset.prefix}G'" in p for p in problems)


def test_checker_refuses_duplicate_refs_test_prefixes_and_short_descriptions(vset, copy):
    check = checker(vset)
    _, listings, _, _ = check.load(copy)
    _rewrite(copy, "listings.jsonl", listings[1]["ref"], ref=listings[0]["ref"], description="太短")
    _rewrite(copy, "listings.jsonl", listings[2]["ref"], ref="T0003")
    problems = check.check(copy)
    assert any("duplicate ref" in p for p in problems)
    assert any("60–200" in p for p in problems)
    assert any("'T0003'" in p and "four digits" in p for p in problems)


def test_checker_refuses_a_judgement_of_a_missing_listing_and_a_bad_grade(vset, copy):
    missing = f"{vset.prefix}9999"
    path = copy / "queries.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("rel: {", f"rel: {{{missing}: 2, ", 1).replace(": 1}", ": 4}", 1), encoding="utf-8"
    )
    problems = checker(vset).check(copy)
    assert any(f"unknown listing '{missing}'" in p for p in problems)
    assert any("grade 4" in p for p in problems)


def test_checker_requires_every_query_type(vset, copy):
    path = copy / "queries.yaml"
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if "type: typo_pinyin" not in line
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert any("typo_pinyin: 0 queries" in p for p in checker(vset).check(copy))


# ---------------------------------------------------------------- what the second and third sets' checkers ask
STRICT = [s for s in SETS if s.name in ("relevance_val2", "relevance_val3")]


@pytest.mark.parametrize("vset", STRICT, ids=[s.name for s in STRICT])
def test_checker_refuses_a_misprefixed_id_a_missing_intent_and_a_short_sentence(vset, copy):
    check = checker(vset)
    queries = check.load(copy)[2]
    first_abbreviation = next(q for q in queries if q["type"] == "abbreviation")
    first_sentence = next(q for q in queries if q["type"] == "sentence")
    exact, synonym = check.QUERY_PREFIX["exact"], check.QUERY_PREFIX["synonym"]
    path = copy / "queries.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(f"- id: {exact}01\n", f"- id: {synonym}99\n", 1)
    text = text.replace(f'  intent: "{first_abbreviation["intent"]}"\n', "", 1)
    text = text.replace(first_sentence["q"], "找个地方测尺寸", 1)
    path.write_text(text, encoding="utf-8")
    problems = check.check(copy)
    assert any(f"'{synonym}99'" in p and f"'{exact}'" in p for p in problems)
    assert any(f"'{first_abbreviation['id']}'" in p and "intent" in p for p in problems)
    assert any(first_sentence["id"] in p and "20–60" in p for p in problems)


@pytest.mark.parametrize("vset", STRICT, ids=[s.name for s in STRICT])
def test_stats_report_the_relevant_listings_per_query(vset):
    out = checker(vset).stats(vset.path)
    assert "relevant listings per query: min" in out
    assert "queries: " in out
