"""The structural checker every judged search set shares (issue 12).

Each set (``relevance_test``, ``relevance_val``, ``relevance_val2``, ``relevance_val3``) keeps a
``check.py`` beside its data that states its own rules (ref prefixes, sizes, query-id prefixes,
sentence lengths: what its assessor wrote in its RULES.md) as a :class:`SetRules` and runs this
module with them. It validates orgs.jsonl, listings.jsonl and queries.yaml against the listing
schema of CONTRACT.md. Structure only, never relevance. Pure Python plus PyYAML; no import from the
application, so an assessor can run it beside the data alone.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ORG_KINDS = {"leading_firm", "university", "institute", "government", "sme", "other"}
TRACKS = {
    "digital_healthcare",
    "medical_devices",
    "satellite_internet",
    "intelligent_manufacturing",
    "smart_materials",
    "digital_government",
    "smart_transport",
    "smart_security",
    "smart_environment",
    "other",
}
# listing kind -> organisation kinds allowed to own it (CONTRACT.md "Listings")
OWNERS = {
    "scenario": ORG_KINDS - {"sme"},
    "instrument": {"university", "institute", "leading_firm", "other"},
    "facility": {"university", "institute", "leading_firm", "other"},
    "pilot_base": {"university", "institute", "leading_firm", "other"},
    "database": ORG_KINDS - {"sme"},
    "public_data": {"government"},
}
PRICE_FIELD = {
    "scenario": "budget_cny",
    "instrument": "rate_cny_per_hour",
    "facility": "rate_cny_per_hour",
    "pilot_base": "rate_cny_per_hour",
}
LISTING_FIELDS = {
    "ref",
    "kind",
    "owner",
    "title",
    "description",
    "tags",
    "track",
    "budget_cny",
    "rate_cny_per_hour",
    "open_mode",
}
ORG_FIELDS = {"ref", "name", "kind", "uscc", "in_district", "verified", "size"}
QUERY_TYPES = ("exact", "partial", "synonym", "abbreviation", "multi", "sentence", "typo_pinyin")
# the two letters after a set's prefix that name an organisation's kind (the validation sets' rules)
ORG_KIND_LETTER = {"university": "U", "institute": "I", "leading_firm": "L", "government": "G", "sme": "S", "other": "O"}
# the two letters after a set's prefix that name a query's type (the second and third validation sets)
QUERY_TYPE_LETTER = {
    "exact": "E",
    "partial": "P",
    "synonym": "S",
    "abbreviation": "A",
    "multi": "M",
    "sentence": "N",
    "typo_pinyin": "T",
}

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_ok(code: object) -> bool:
    """GB 32100-2015 check character."""
    if not isinstance(code, str) or len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


@dataclass(frozen=True)
class SetRules:
    """What one set's assessor fixed in its RULES.md before writing it."""

    prefix: str  # every org and listing ref starts with it
    min_listings: int
    min_queries: int
    min_per_type: dict[str, int]
    max_tags: int = 6
    listing_ref_digits: bool = True  # a listing ref is the prefix and four digits (V0001)
    org_prefix_by_kind: bool = True  # an org ref is the prefix and its kind's letter (VU…)
    uscc_required: bool = True
    query_prefix_by_type: bool = False  # a query id is the prefix, its type's letter and digits
    sentence_chars: tuple[int, int] | None = None  # a sentence query's length, if the rules fix one
    intent_required: tuple[str, ...] = ()  # query types that must state their intent

    @property
    def org_prefix(self) -> dict[str, str]:
        return {kind: self.prefix + letter for kind, letter in ORG_KIND_LETTER.items()}

    @property
    def query_prefix(self) -> dict[str, str]:
        return {qtype: self.prefix + letter for qtype, letter in QUERY_TYPE_LETTER.items()}

    # ------------------------------------------------------------ organisations
    def check_orgs(self, orgs: list[dict]) -> list[str]:
        problems = []
        seen = set()
        for o in orgs:
            ref = o.get("ref")
            where = f"org {ref!r}"
            if not isinstance(ref, str) or not ref.startswith(self.prefix):
                problems.append(f"{where}: ref must be a string starting with {self.prefix!r}")
            if ref in seen:
                problems.append(f"{where}: duplicate ref")
            seen.add(ref)
            if not isinstance(o.get("name"), str) or not o.get("name", "").strip():
                problems.append(f"{where}: missing name")
            if o.get("kind") not in ORG_KINDS:
                problems.append(f"{where}: kind {o.get('kind')!r} not one of {sorted(ORG_KINDS)}")
            elif self.org_prefix_by_kind and isinstance(ref, str) and not ref.startswith(self.org_prefix[o["kind"]]):
                problems.append(f"{where}: a {o['kind']} ref must start with {self.org_prefix[o['kind']]!r}")
            if "uscc" not in o:
                if self.uscc_required:
                    problems.append(f"{where}: missing uscc")
            elif not uscc_ok(o["uscc"]):
                problems.append(f"{where}: uscc {o['uscc']!r} fails the GB 32100-2015 check")
            unknown = set(o) - ORG_FIELDS
            if unknown:
                problems.append(f"{where}: unknown fields {sorted(unknown)}")
        names = Counter(o.get("name") for o in orgs)
        problems += [f"org name {n!r} used {c} times" for n, c in names.items() if c > 1]
        return problems

    # ------------------------------------------------------------ listings
    def _listing_ref_problem(self, ref: object) -> str | None:
        if self.listing_ref_digits:
            if not isinstance(ref, str) or not re.fullmatch(re.escape(self.prefix) + r"\d{4}", ref):
                return f"ref must be {self.prefix!r} and four digits ({self.prefix}0001)"
        elif not isinstance(ref, str) or not ref.startswith(self.prefix):
            return f"ref must be a string starting with {self.prefix!r}"
        return None

    def check_listings(self, listings: list[dict], orgs: list[dict]) -> list[str]:
        problems = []
        org_kind = {o.get("ref"): o.get("kind") for o in orgs}
        seen = set()
        for d in listings:
            ref = d.get("ref")
            where = f"listing {ref!r}"
            if problem := self._listing_ref_problem(ref):
                problems.append(f"{where}: {problem}")
            if ref in seen:
                problems.append(f"{where}: duplicate ref")
            seen.add(ref)
            unknown = set(d) - LISTING_FIELDS
            if unknown:
                problems.append(f"{where}: unknown fields {sorted(unknown)}")
            kind = d.get("kind")
            if kind not in OWNERS:
                problems.append(f"{where}: kind {kind!r} not one of {sorted(OWNERS)}")
                continue
            owner = d.get("owner")
            if owner not in org_kind:
                problems.append(f"{where}: owner {owner!r} is not an organisation")
            elif org_kind[owner] not in OWNERS[kind]:
                problems.append(f"{where}: a {org_kind[owner]} may not own a {kind}")
            title = d.get("title")
            if not isinstance(title, str) or not title.strip():
                problems.append(f"{where}: missing title")
            desc = d.get("description")
            if not isinstance(desc, str) or not 60 <= len(desc) <= 200:
                problems.append(f"{where}: description must be 60–200 characters")
            tags = d.get("tags")
            if (
                not isinstance(tags, list)
                or not 2 <= len(tags) <= self.max_tags
                or not all(isinstance(t, str) and t.strip() for t in tags)
            ):
                problems.append(f"{where}: tags must be a list of 2–{self.max_tags} non-empty strings")
            if d.get("track") not in TRACKS:
                problems.append(f"{where}: track {d.get('track')!r} not valid")
            price = PRICE_FIELD.get(kind)
            for field in ("budget_cny", "rate_cny_per_hour"):
                if field == price:
                    value = d.get(field)
                    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                        problems.append(f"{where}: {field} must be a positive number")
                elif field in d:
                    problems.append(f"{where}: {field} does not apply to a {kind}")
            if kind == "public_data":
                if d.get("open_mode") not in ("unconditional", "conditional"):
                    problems.append(f"{where}: open_mode must be unconditional or conditional")
            elif "open_mode" in d:
                problems.append(f"{where}: open_mode applies only to public_data")
        if len(listings) < self.min_listings:
            problems.append(f"only {len(listings)} listings, at least {self.min_listings} required")
        kinds = {d.get("kind") for d in listings}
        problems += [f"no listing of kind {k}" for k in sorted(set(OWNERS) - kinds)]
        tracks = {d.get("track") for d in listings}
        problems += [f"no listing in track {t}" for t in sorted(TRACKS - tracks)]
        return problems

    # ------------------------------------------------------------ queries
    def _query_problems(self, q: dict, where: str) -> list[str]:
        problems = []
        qid, qtype = q.get("id"), q.get("type")
        if qtype not in QUERY_TYPES:
            problems.append(f"{where}: type {qtype!r} not one of {QUERY_TYPES}")
        elif self.query_prefix_by_type and (
            not isinstance(qid, str) or not re.fullmatch(self.query_prefix[qtype] + r"\d{2,3}", qid)
        ):
            problems.append(f"{where}: a {qtype} query id must be {self.query_prefix[qtype]!r} and digits")
        if qtype in self.intent_required and not str(q.get("intent", "")).strip():
            problems.append(f"{where}: a {qtype} query must state its intent")
        if self.sentence_chars and qtype == "sentence" and isinstance(q.get("q"), str):
            low, high = self.sentence_chars
            if not low <= len(q["q"]) <= high:
                problems.append(f"{where}: a sentence query must be {low}–{high} characters")
        if not isinstance(q.get("q"), str) or not q["q"].strip():
            problems.append(f"{where}: empty query text")
        return problems

    def check_queries(self, queries: object, listings: list[dict]) -> list[str]:
        if not isinstance(queries, list):
            return ["queries.yaml must be a YAML list"]
        problems = []
        refs = {d.get("ref") for d in listings}
        seen = set()
        for q in queries:
            if not isinstance(q, dict):
                problems.append(f"query {q!r}: not a mapping")
                continue
            qid = q.get("id")
            where = f"query {qid!r}"
            if qid in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(qid)
            unknown = set(q) - {"id", "type", "q", "rel", "intent"}
            if unknown:
                problems.append(f"{where}: unknown fields {sorted(unknown)}")
            problems += self._query_problems(q, where)
            rel = q.get("rel")
            if not isinstance(rel, dict) or not rel:
                problems.append(f"{where}: rel must be a non-empty mapping")
                continue
            for ref, grade in rel.items():
                if ref not in refs:
                    problems.append(f"{where}: rel names unknown listing {ref!r}")
                if isinstance(grade, bool) or grade not in (1, 2, 3):
                    problems.append(f"{where}: grade {grade!r} for {ref} must be 1, 2 or 3")
            if 3 not in rel.values():
                problems.append(f"{where}: no grade-3 listing")
        if len(queries) < self.min_queries:
            problems.append(f"only {len(queries)} queries, at least {self.min_queries} required")
        per_type = Counter(q.get("type") for q in queries if isinstance(q, dict))
        for t in QUERY_TYPES:
            if per_type[t] < self.min_per_type[t]:
                problems.append(f"query type {t}: {per_type[t]} queries, at least {self.min_per_type[t]} required")
        return problems

    # ------------------------------------------------------------ the set
    def check(self, directory: Path) -> list[str]:
        orgs, listings, queries, problems = load(directory)
        return (
            problems
            + self.check_orgs(orgs)
            + self.check_listings(listings, orgs)
            + self.check_queries(queries, listings)
        )

    def main(self, argv: list[str], here: Path) -> int:
        args = [a for a in argv if not a.startswith("--")]
        directory = Path(args[0]) if args else here
        problems = self.check(directory)
        for p in problems:
            print(p)
        if "--stats" in argv:
            print(stats(directory))
        print("OK" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0


def _jsonl(path: Path, problems: list[str]) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{n}: not JSON ({exc})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name}:{n}: not an object")
            continue
        rows.append(row)
    return rows


def load(directory: Path) -> tuple[list[dict], list[dict], object, list[str]]:
    problems: list[str] = []
    orgs = _jsonl(directory / "orgs.jsonl", problems)
    listings = _jsonl(directory / "listings.jsonl", problems)
    queries = yaml.safe_load((directory / "queries.yaml").read_text(encoding="utf-8"))
    return orgs, listings, queries, problems


def stats(directory: Path) -> str:
    orgs, listings, queries, _ = load(directory)
    out = [
        f"organisations: {len(orgs)} {dict(Counter(o['kind'] for o in orgs))}",
        f"listings: {len(listings)}",
    ]
    out += [f"  kind {k}: {n}" for k, n in sorted(Counter(d["kind"] for d in listings).items())]
    out += [f"  track {k}: {n}" for k, n in sorted(Counter(d["track"] for d in listings).items())]
    out.append(f"queries: {len(queries)}")
    for t in QUERY_TYPES:
        qs = [q for q in queries if q["type"] == t]
        judged = [g for q in qs for g in q["rel"].values()]
        out.append(
            f"  {t}: {len(qs)} queries, {len(judged)} judgements "
            f"({judged.count(3)}×3, {judged.count(2)}×2, {judged.count(1)}×1)"
        )
    sizes = sorted(len(q["rel"]) for q in queries)
    out.append(f"relevant listings per query: min {sizes[0]}, median {statistics.median(sizes)}, max {sizes[-1]}")
    wide = [f"{q['id']} ({len(q['rel'])})" for q in queries if len(q["rel"]) > 10]
    out.append(f"queries with more than 10 relevant listings: {', '.join(wide) or 'none'}")
    return "\n".join(out)
