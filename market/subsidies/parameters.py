"""The subsidy parameters as dated data (POLICY.md: "every figure below is data, not code").

``load(path)`` reads ``parameters.yaml`` and returns :class:`Parameters`; a malformed file is refused
with :class:`ParameterError` naming the key and the line (the YAML is *composed*, not just loaded, so
every value keeps its node's position). Pure: yaml + dataclasses, no Flask, no database.

A rule has dated :class:`Version` s; :meth:`Rule.version_on` answers "which values were in force on
this Beijing calendar day". A revision adds a version; a past year keeps the values it had.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).with_name("parameters.yaml")
RULE_IDS = ("art7_provider", "art7_renter", "art8_supplier", "art8_opener", "art9_demo", "art13_data")
LEDGER_RULES = ("art7_provider", "art7_renter", "art8_supplier")
ENTRY_KINDS = frozenset({"rental", "scenario_contract", "data_access"})
LISTING_KINDS = frozenset({"scenario", "instrument", "facility", "pilot_base", "database", "public_data", "unlisted"})
ORG_KINDS = frozenset({"leading_firm", "university", "institute", "government", "sme", "other"})
PERIODS = frozenset({"year", "once_ever", "project"})
ROUNDING_MODES = {"ROUND_HALF_UP": decimal.ROUND_HALF_UP}


class ParameterError(ValueError):
    """A malformed parameter file: ``file:line: key: message``."""

    def __init__(self, source: str, line: int, key: str, message: str):
        self.source, self.line, self.key, self.message = source, line, key, message
        super().__init__(f"{source}:{line}: {key}: {message}")


@dataclass(frozen=True)
class BaseFilter:
    entry_kind: str
    listing_kinds: frozenset[str]  # "unlisted" = an entry with no listing recorded

    def matches(self, entry_kind: str, listing_kind: str | None) -> bool:
        return entry_kind == self.entry_kind and (listing_kind or "unlisted") in self.listing_kinds


@dataclass(frozen=True)
class Eligibility:
    verified_required: bool = True
    in_district_required: bool = True
    sme_required: bool = False
    beneficiary_kinds: frozenset[str] | None = None  # None: any kind
    counterparty_sme_required: bool = False
    renter_anywhere: bool = True  # art7_provider: the SME renter may be registered anywhere
    counterparty_kinds: frozenset[str] | None = None


@dataclass(frozen=True)
class Version:
    effective_from: dt.date
    effective_to: dt.date | None  # exclusive; None = until the next version (or for ever)
    period: str
    cap_cny: Decimal | None
    rate: Decimal | None = None  # ledger rules
    base: tuple[BaseFilter, ...] = ()
    eligibility: Eligibility = field(default_factory=Eligibility)
    tiers: dict[str, Decimal] = field(default_factory=dict)

    @functools.cached_property
    def id(self) -> str:
        """How results name the version: its first day (CONTRACT.md ``"parameters": "2026-01-01"``)."""
        return self.effective_from.isoformat()

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def feeds(self, entry_kind: str, listing_kind: str | None) -> bool:
        return any(f.matches(entry_kind, listing_kind) for f in self.base)


@dataclass(frozen=True)
class Rule:
    id: str
    article: int
    title: str
    clause: str  # the Chinese text of the clause it implements
    computed: str  # ledger | decision
    beneficiary: str  # payer | payee | organisation | project
    versions: tuple[Version, ...]  # by effective_from

    def version_on(self, day: dt.date) -> Version | None:
        if len(self.versions) == 1:  # the usual case, asked once per entry and rule
            v = self.versions[0]
            return v if v.effective_from <= day and (v.effective_to is None or day < v.effective_to) else None
        for v in reversed(self.versions):
            if v.in_force(day):
                return v
        return None

    def versions_in_year(self, year: int) -> tuple[Version, ...]:
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        return tuple(v for v in self.versions
                     if v.effective_from <= last and (v.effective_to is None or v.effective_to > first))

    def year_end_version(self, year: int) -> Version | None:
        """The last version in force in ``year``: its cap is the year's cap (``cap_basis: year_end``)."""
        found = self.versions_in_year(year)
        return found[-1] if found else None


@dataclass(frozen=True)
class Parameters:
    policy_title: str
    effective_from: dt.date  # the policy's start: payments before it earn nothing
    quantum: Decimal
    rounding: str
    cap_basis: str
    before_first_facts: str  # first_known | exclude
    closing_clause: str
    rules: dict[str, Rule]
    notice_days: int = 7  # claims workflow: the length of a public notice (公示), in days


    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def round(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.quantum, rounding=ROUNDING_MODES[self.rounding])


# ---------------------------------------------------------------- reading nodes with their lines
class _Reader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, node: yaml.Node, key: str, message: str) -> ParameterError:
        return ParameterError(self.source, node.start_mark.line + 1, key, message)

    def mapping(self, node: yaml.Node, key: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping")
        out: dict[str, yaml.Node] = {}
        for k, v in node.value:
            name = str(k.value)
            if name in out:
                raise self.fail(k, f"{key}.{name}" if key else name, "duplicate key")
            if name not in required and name not in optional:
                raise self.fail(k, f"{key}.{name}" if key else name, "unknown key")
            out[name] = v
        for name in required:
            if name not in out:
                raise self.fail(node, f"{key}.{name}" if key else name, "missing")
        return out

    def scalar(self, node: yaml.Node, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, "expected a single value")
        return node.value

    def is_null(self, node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")

    def text(self, node: yaml.Node, key: str) -> str:
        value = self.scalar(node, key).strip()
        if not value:
            raise self.fail(node, key, "must not be empty")
        return value

    def date(self, node: yaml.Node, key: str) -> dt.date:
        try:
            return dt.date.fromisoformat(self.scalar(node, key))
        except ValueError:
            raise self.fail(node, key, "expected a date YYYY-MM-DD") from None

    def boolean(self, node: yaml.Node, key: str) -> bool:
        if not (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":bool")):
            raise self.fail(node, key, "expected true or false")
        return node.value.lower() in ("true", "yes", "on")

    def integer(self, node: yaml.Node, key: str) -> int:
        try:
            return int(self.scalar(node, key))
        except ValueError:
            raise self.fail(node, key, "expected a whole number") from None

    def money(self, node: yaml.Node, key: str, *, maximum: Decimal | None = None) -> Decimal:
        raw = self.scalar(node, key)
        try:
            value = Decimal(raw)
        except decimal.InvalidOperation:
            raise self.fail(node, key, f"expected an amount like \"1000.00\", got {raw!r}") from None
        if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
            raise self.fail(node, key, "expected a non-negative amount with at most 2 decimals")
        if maximum is not None and value > maximum:
            raise self.fail(node, key, f"must not exceed {maximum:.2f}")
        return value

    def rate(self, node: yaml.Node, key: str) -> Decimal:
        raw = self.scalar(node, key)
        try:
            value = Decimal(raw)
        except decimal.InvalidOperation:
            raise self.fail(node, key, f"expected a rate like \"0.10\", got {raw!r}") from None
        if not value.is_finite() or not (0 <= value <= 1):
            raise self.fail(node, key, "a rate is between 0 and 1")
        return value

    def choice(self, node: yaml.Node, key: str, allowed: frozenset[str] | tuple[str, ...] | dict) -> str:
        value = self.scalar(node, key)
        if value not in allowed:
            raise self.fail(node, key, f"{value!r} is not one of {', '.join(sorted(allowed))}")
        return value

    def kinds(self, node: yaml.Node, key: str, allowed: frozenset[str]) -> frozenset[str] | None:
        if self.is_null(node):
            return None
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, key, "expected a non-empty list")
        return frozenset(self.choice(item, key, allowed) for item in node.value)


def _eligibility(r: _Reader, node: yaml.Node, key: str) -> Eligibility:
    switches = ("verified_required", "in_district_required", "sme_required", "counterparty_sme_required", "renter_anywhere")
    m = r.mapping(node, key, (), (*switches, "beneficiary_kinds", "counterparty_kinds"))
    values: dict[str, Any] = {s: r.boolean(m[s], f"{key}.{s}") for s in switches if s in m}
    for s in ("beneficiary_kinds", "counterparty_kinds"):
        if s in m:
            values[s] = r.kinds(m[s], f"{key}.{s}", ORG_KINDS)
    return Eligibility(**values)


def _version(r: _Reader, node: yaml.Node, key: str, computed: str) -> Version:
    common = ("effective_to", "period")
    if computed == "ledger":
        m = r.mapping(node, key, ("effective_from", "rate", "cap_cny", "period", "base", "eligibility"), ("effective_to",))
    else:
        m = r.mapping(node, key, ("effective_from", "cap_cny"), (*common, "tiers"))
    start = r.date(m["effective_from"], f"{key}.effective_from")
    end = r.date(m["effective_to"], f"{key}.effective_to") if "effective_to" in m else None
    if end is not None and end <= start:
        raise r.fail(m["effective_to"], f"{key}.effective_to", "must be after effective_from")
    cap = None if r.is_null(m["cap_cny"]) and computed != "ledger" else r.money(m["cap_cny"], f"{key}.cap_cny")
    period = r.choice(m["period"], f"{key}.period", PERIODS) if "period" in m else "project"
    if computed != "ledger":
        tiers: dict[str, Decimal] = {}
        if "tiers" in m:
            tm = m["tiers"]
            if not isinstance(tm, yaml.MappingNode) or not tm.value:
                raise r.fail(tm, f"{key}.tiers", "expected a mapping of grade: amount")
            for k, v in tm.value:
                tiers[str(k.value)] = r.money(v, f"{key}.tiers.{k.value}", maximum=cap)
        return Version(start, end, period, cap, tiers=tiers)
    base_node = m["base"]
    if not isinstance(base_node, yaml.SequenceNode) or not base_node.value:
        raise r.fail(base_node, f"{key}.base", "expected a non-empty list of entry kinds")
    base = []
    for i, item in enumerate(base_node.value):
        bk = f"{key}.base[{i}]"
        bm = r.mapping(item, bk, ("entry_kind", "listing_kinds"))
        base.append(BaseFilter(r.choice(bm["entry_kind"], f"{bk}.entry_kind", ENTRY_KINDS),
                               r.kinds(bm["listing_kinds"], f"{bk}.listing_kinds", LISTING_KINDS) or LISTING_KINDS))
    return Version(start, end, period, cap, rate=r.rate(m["rate"], f"{key}.rate"), base=tuple(base),
                   eligibility=_eligibility(r, m["eligibility"], f"{key}.eligibility"))


def _rule(r: _Reader, rule_id: str, node: yaml.Node) -> Rule:
    key = f"rules.{rule_id}"
    m = r.mapping(node, key, ("article", "title", "clause", "computed", "beneficiary", "versions"))
    computed = r.choice(m["computed"], f"{key}.computed", ("ledger", "decision"))
    if (computed == "ledger") != (rule_id in LEDGER_RULES):
        raise r.fail(m["computed"], f"{key}.computed", f"{rule_id} is {'ledger' if rule_id in LEDGER_RULES else 'decision'}")
    beneficiaries = ("payer", "payee") if computed == "ledger" else ("organisation", "project")
    vnode = m["versions"]
    if not isinstance(vnode, yaml.SequenceNode) or not vnode.value:
        raise r.fail(vnode, f"{key}.versions", "expected a non-empty list of dated versions")
    versions = [_version(r, v, f"{key}.versions[{i}]", computed) for i, v in enumerate(vnode.value)]
    # order by date, close each open version at the next one's start, refuse overlaps
    order = sorted(range(len(versions)), key=lambda i: versions[i].effective_from)
    closed: list[Version] = []
    for n, i in enumerate(order):
        v = versions[i]
        nxt = versions[order[n + 1]] if n + 1 < len(order) else None
        if nxt is not None:
            if v.effective_to is None:
                v = Version(v.effective_from, nxt.effective_from, v.period, v.cap_cny, v.rate, v.base, v.eligibility, v.tiers)
            elif v.effective_to > nxt.effective_from:
                raise r.fail(vnode.value[order[n + 1]], f"{key}.versions[{order[n + 1]}].effective_from",
                             "overlaps the previous version")
        closed.append(v)
    return Rule(
        id=rule_id, article=r.integer(m["article"], f"{key}.article"), title=r.text(m["title"], f"{key}.title"),
        clause=r.text(m["clause"], f"{key}.clause"), computed=computed,
        beneficiary=r.choice(m["beneficiary"], f"{key}.beneficiary", beneficiaries), versions=tuple(closed),
    )


def parse(text: str, source: str = "parameters.yaml") -> Parameters:
    """Validate and build :class:`Parameters` from YAML text; ParameterError names key and line."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ParameterError(source, (mark.line + 1) if mark else 0, "(yaml)", str(getattr(err, "problem", err))) from None
    r = _Reader(source)
    if root is None:
        raise ParameterError(source, 1, "(document)", "the file is empty")
    m = r.mapping(root, "", ("policy", "rounding", "cap_basis", "rules"), ("before_first_facts", "closing_clause", "claims"))
    pm = r.mapping(m["policy"], "policy", ("title", "effective_from"))
    rm = r.mapping(m["rounding"], "rounding", ("quantum", "mode"))
    quantum = r.money(rm["quantum"], "rounding.quantum")
    if quantum <= 0:
        raise r.fail(rm["quantum"], "rounding.quantum", "must be positive")
    rules_node = m["rules"]
    rules_map = r.mapping(rules_node, "rules", RULE_IDS)
    rules = {rule_id: _rule(r, rule_id, rules_map[rule_id]) for rule_id in RULE_IDS}
    return Parameters(
        policy_title=r.text(pm["title"], "policy.title"),
        effective_from=r.date(pm["effective_from"], "policy.effective_from"),
        quantum=quantum,
        rounding=r.choice(rm["mode"], "rounding.mode", ROUNDING_MODES),
        cap_basis=r.choice(m["cap_basis"], "cap_basis", ("year_end",)),
        before_first_facts=(r.choice(m["before_first_facts"], "before_first_facts", ("first_known", "exclude"))
                            if "before_first_facts" in m else "first_known"),
        closing_clause=r.text(m["closing_clause"], "closing_clause") if "closing_clause" in m else "",
        rules=rules,
        notice_days=_notice_days(r, m["claims"]) if "claims" in m else 7,
    )


def _notice_days(r: _Reader, node: yaml.Node) -> int:
    cm = r.mapping(node, "claims", ("notice_days",))
    days = r.integer(cm["notice_days"], "claims.notice_days")
    if not 1 <= days <= 90:
        raise r.fail(cm["notice_days"], "claims.notice_days", "must be between 1 and 90 days")
    return days


def load(path: Path | str = DATA_FILE) -> Parameters:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path.name)


@functools.cache
def default() -> Parameters:
    """The platform's parameter file, read once."""
    return load(DATA_FILE)


__all__: list[str] = ["Parameters", "Rule", "Version", "Eligibility", "BaseFilter", "ParameterError", "parse", "load",
                      "default", "RULE_IDS", "LEDGER_RULES"]
