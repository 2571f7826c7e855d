"""The independent search test set (tests/data/relevance_test, issue 12) is well formed.

Structure only: unique refs, ownership per CONTRACT.md, every judged ref exists, enough listings
and queries of every type. The grades themselves are the assessor's and are not tuned here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from market.orgs.uscc import uscc_problem

DATA = Path(__file__).resolve().parent.parent / "data" / "relevance_test"


def _load_checker():
    spec = importlib.util.spec_from_file_location("relevance_test_check", DATA / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_checker()


def test_the_test_set_passes_its_checker():
    assert check.check(DATA) == []
    assert check.main([str(DATA)]) == 0


def test_the_rules_exist_and_the_collection_has_its_size():
    assert (DATA / "RULES.md").read_text(encoding="utf-8").count("grade") > 5
    orgs, listings, queries, _ = check.load(DATA)
    assert 30 <= len(orgs) <= 40
    assert len(listings) >= 300
    assert len(queries) >= 60
    assert {d["kind"] for d in listings} == set(check.OWNERS)
    assert {d["track"] for d in listings} == check.TRACKS


def test_every_uscc_is_accepted_by_the_application_validator():
    orgs, _, _, _ = check.load(DATA)
    assert all(uscc_problem(o["uscc"]) is None for o in orgs)
    assert all(check.uscc_ok(o["uscc"]) for o in orgs)


@pytest.fixture
def copy(tmp_path):
    for name in ("orgs.jsonl", "listings.jsonl", "queries.yaml"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _rewrite_listing(directory: Path, target: str, **changes) -> None:
    path = directory / "listings.jsonl"
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
    _rewrite_listing(copy, instrument, owner=sme)
    assert any("may not own a instrument" in p for p in check.check(copy))


def test_checker_refuses_public_data_not_owned_by_government(copy):
    university = next(o["ref"] for o in check.load(copy)[0] if o["kind"] == "university")
    public = next(d["ref"] for d in check.load(copy)[1] if d["kind"] == "public_data")
    _rewrite_listing(copy, public, owner=university)
    assert any("may not own a public_data" in p for p in check.check(copy))


def test_checker_refuses_duplicate_refs_and_short_descriptions(copy):
    _, listings, _, _ = check.load(copy)
    _rewrite_listing(copy, listings[1]["ref"], ref=listings[0]["ref"], description="太短")
    problems = check.check(copy)
    assert any("duplicate ref" in p for p in problems)
    assert any("60–200" in p for p in problems)


def test_checker_refuses_a_judgement_of_a_missing_listing_and_a_bad_grade(copy):
    path = copy / "queries.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("rel: {", "rel: {T9999: 2, ", 1).replace(": 1}", ": 4}", 1), encoding="utf-8"
    )
    problems = check.check(copy)
    assert any("unknown listing 'T9999'" in p for p in problems)
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
