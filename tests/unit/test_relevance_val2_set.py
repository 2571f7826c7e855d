"""The second blind search validation set (tests/data/relevance_val2, issue 12) is well formed.

Structure only: unique refs with the W prefixes, ownership per CONTRACT.md, every judged ref exists,
enough listings and queries of every type. The grades themselves are the assessor's; this set may be
tuned on, but a grade is changed only for a stated reason, never here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from market.orgs.uscc import uscc_problem

DATA = Path(__file__).resolve().parent.parent / "data" / "relevance_val2"


def _load_checker():
    spec = importlib.util.spec_from_file_location("relevance_val2_check", DATA / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_checker()


def test_the_second_validation_set_passes_its_checker():
    assert check.check(DATA) == []
    assert check.main([str(DATA)]) == 0


def test_the_rules_exist_and_the_collection_has_its_size():
    rules = (DATA / "RULES.md").read_text(encoding="utf-8")
    assert rules.count("grade") > 5
    assert "may be tuned on" in rules
    assert "2026-12-06" in rules
    orgs, listings, queries, _ = check.load(DATA)
    assert 30 <= len(orgs) <= 40
    assert len(listings) >= 320
    assert len(queries) >= 95
    assert {d["kind"] for d in listings} == set(check.OWNERS)
    assert {d["track"] for d in listings} == check.TRACKS
    per_type = {t: sum(q["type"] == t for q in queries) for t in check.QUERY_TYPES}
    assert min(per_type.values()) >= 10, per_type
    assert per_type["synonym"] >= 22 and per_type["sentence"] >= 22, per_type
    assert 30 <= len(orgs) <= 40


def test_every_ref_carries_the_validation_prefix():
    orgs, listings, queries, _ = check.load(DATA)
    assert all(o["ref"].startswith(check.ORG_PREFIX[o["kind"]]) for o in orgs)
    assert all(d["ref"].startswith("W") and len(d["ref"]) == 5 for d in listings)
    assert all(ref.startswith("W") for q in queries for ref in q["rel"])


def test_typo_and_abbreviation_queries_state_their_intent():
    _, _, queries, _ = check.load(DATA)
    for q in queries:
        if q["type"] in ("typo_pinyin", "abbreviation"):
            assert q.get("intent", "").strip(), q["id"]


def test_every_uscc_is_accepted_by_the_application_validator():
    orgs, _, _, _ = check.load(DATA)
    assert all(uscc_problem(o["uscc"]) is None for o in orgs)
    assert all(check.uscc_ok(o["uscc"]) for o in orgs)


@pytest.fixture
def copy(tmp_path):
    for name in ("orgs.jsonl", "listings.jsonl", "queries.yaml"):
        shutil.copy(DATA / name, tmp_path / name)
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


def test_checker_refuses_an_instrument_owned_by_an_sme(copy):
    sme = next(o["ref"] for o in check.load(copy)[0] if o["kind"] == "sme")
    instrument = next(d["ref"] for d in check.load(copy)[1] if d["kind"] == "instrument")
    _rewrite(copy, "listings.jsonl", instrument, owner=sme)
    assert any("may not own a instrument" in p for p in check.check(copy))


def test_checker_refuses_public_data_not_owned_by_government(copy):
    university = next(o["ref"] for o in check.load(copy)[0] if o["kind"] == "university")
    public = next(d["ref"] for d in check.load(copy)[1] if d["kind"] == "public_data")
    _rewrite(copy, "listings.jsonl", public, owner=university)
    assert any("may not own a public_data" in p for p in check.check(copy))


def test_checker_refuses_a_bad_uscc_and_a_mismatched_org_prefix(copy):
    orgs = check.load(copy)[0]
    first = orgs[0]
    broken = first["uscc"][:17] + ("0" if first["uscc"][17] != "0" else "1")
    _rewrite(copy, "orgs.jsonl", first["ref"], uscc=broken, kind="government")
    problems = check.check(copy)
    assert any("fails the GB 32100-2015 check" in p for p in problems)
    assert any("must start with 'WG'" in p for p in problems)


def test_checker_refuses_duplicate_refs_test_prefixes_and_short_descriptions(copy):
    _, listings, _, _ = check.load(copy)
    _rewrite(copy, "listings.jsonl", listings[1]["ref"], ref=listings[0]["ref"], description="太短")
    _rewrite(copy, "listings.jsonl", listings[2]["ref"], ref="T0003")
    problems = check.check(copy)
    assert any("duplicate ref" in p for p in problems)
    assert any("60–200" in p for p in problems)
    assert any("'T0003'" in p and "four digits" in p for p in problems)


def test_checker_refuses_a_judgement_of_a_missing_listing_and_a_bad_grade(copy):
    path = copy / "queries.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("rel: {", "rel: {W9999: 2, ", 1).replace(": 1}", ": 4}", 1), encoding="utf-8"
    )
    problems = check.check(copy)
    assert any("unknown listing 'W9999'" in p for p in problems)
    assert any("grade 4" in p for p in problems)


def test_checker_requires_every_query_type(copy):
    path = copy / "queries.yaml"
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if "type: typo_pinyin" not in line
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert any("typo_pinyin: 0 queries" in p for p in check.check(copy))


def test_checker_refuses_a_misprefixed_id_a_missing_intent_and_a_short_sentence(copy):
    path = copy / "queries.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("- id: WE01\n", "- id: WS99\n", 1)
    text = text.replace('  intent: "三坐标测量机（坐标测量机）"\n', "", 1)
    first_sentence = next(q for q in check.load(copy)[2] if q["type"] == "sentence")
    text = text.replace(first_sentence["q"], "找个地方测尺寸", 1)
    path.write_text(text, encoding="utf-8")
    problems = check.check(copy)
    assert any("'WS99'" in p and "'WE'" in p for p in problems)
    assert any("'WA01'" in p and "intent" in p for p in problems)
    assert any(first_sentence["id"] in p and "20–60" in p for p in problems)


def test_stats_report_the_relevant_listings_per_query():
    out = check.stats(DATA)
    assert "relevant listings per query: min" in out
    assert "queries: " in out
