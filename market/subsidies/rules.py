"""The subsidy rules the ledger feeds: ``art7_provider``, ``art7_renter``, ``art8_supplier`` (POLICY.md).

Pure: plain dataclasses in (payments, organisation fact timelines, the group map, the parameters),
plain results out, each with its full trace. No Flask, no database, no language machinery (reason
codes carry their Chinese words; screens translate them).

The steps, each a small named function:

1. :func:`judged_payment` — a refund is judged as the payment it reverses (same beneficiaries, rules,
   eligibility and version), but counts in the year of its own payment date (interpretation 1).
2. :func:`candidate_rules` — which rules an entry feeds, from the version's base filters.
3. :func:`exclusion_reasons` — why an entry earns nothing for a beneficiary under a rule, as codes:
   completeness (interpretation 1), policy start (6), self-dealing / related party and the
   beneficiary's and counterparty's facts **on the payment date** (4).
4. :func:`assign_best_of` — the closing clause and interpretation 3: each entry feeds at most one
   option per beneficiary; items without a declared other subsidy first, in payment-date order, then
   items carrying one, in payment-date order, each compared on its marginal amount, caps included.
5. :func:`rule_amount` — the year's amount: ``round_half_up(Σ_v rate_v × base_v, 0.01)`` once, then the
   cap of the version in force at year end; a year's net base never below zero.

:func:`compute` is the reference. :func:`compute_plain` gives the same results faster for a beneficiary
whose year needs no best-of (each entry feeds one of its rules, no other subsidy declared): steps 1–3
as above, step 4 reduces to "its one option", step 5 is shared.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, compress, repeat
from operator import attrgetter, eq, itemgetter
from typing import NamedTuple

from market.domain.declared import DeclaredSubsidy
from market.domain.localtime import day_start, local_date
from market.domain.orgfacts import OrgFacts, Timeline
from market.domain.parties import relation

from .parameters import LEDGER_RULES, Parameters, Rule, Version

ZERO = Decimal("0.00")


def N_(message: str) -> str:  # marks words for the catalogue; translated where shown
    return message


# Stable codes (CONTRACT.md) and their words in the default language.
REASON_WORDS: dict[str, str] = {
    "not_confirmed": N_("付款方或收款方未确认"),
    "payer_not_confirmed": N_("付款方未确认"),
    "payee_not_confirmed": N_("收款方未确认"),
    "missing_evidence": N_("缺少凭证"),
    "disputed": N_("有未解决的异议"),
    "reversed_entry_incomplete": N_("被冲正的原付款不计入"),
    "before_policy_start": N_("付款日期早于政策施行日期"),
    "no_rule_in_force": N_("付款日期没有生效的条款参数"),
    "self_dealing": N_("与自身的交易"),
    "related_party": N_("关联方之间的交易"),
    "not_registered": N_("付款日期该机构尚未在平台登记"),
    "not_sme": N_("付款日期受益方不是中小微企业"),
    "not_eligible_kind": N_("受益方的机构类型不适用本条款"),
    "not_verified": N_("付款日期受益方未通过认证"),
    "out_of_district": N_("付款日期受益方不在新区注册"),
    "counterparty_not_sme": N_("付款日期租用方不是中小微企业"),
    "counterparty_out_of_district": N_("付款日期租用方不在新区注册"),
    "counterparty_kind": N_("交易对方的机构类型不适用本条款（如非龙头企业的项目）"),
    "other_subsidy_chosen": N_("同一事项已选择其他补贴（按最优执行，不重复执行）"),
    "other_rule_chosen": N_("同一笔交易已计入本机构的另一条款（不重复执行）"),
}

# why a best-of choice went as it did (interpretation 3), by kind; the values fill the %(...)s (amounts as ¥1,234.00)
CHOICE_WORDS: dict[str, str] = {
    "rules": N_("%(winner)s 边际金额 %(ours)s 最高（同一交易不重复执行）"),
    "ours": N_("本条款边际金额 %(ours)s 高于其他补贴 %(other)s（%(source)s），按本条款执行"),
    "other": N_("其他补贴 %(other)s（%(source)s）不低于本条款边际金额 %(ours)s，按其他补贴执行"),
    # an organisation-level declaration, weighed against the rule's whole year
    "year_ours": N_("本条款全年金额 %(ours)s 高于其他补贴 %(other)s（%(source)s），按本条款执行"),
    "year_other": N_("其他补贴 %(other)s（%(source)s）不低于本条款全年金额 %(ours)s，按其他补贴执行"),
}

EVIDENCE_WORDS = {"contract": N_("合同"), "invoice": N_("发票"), "payment_record": N_("付款凭证"), "other": N_("其他")}

# completeness codes (market.domain.completeness.Reason) -> CONTRACT.md codes
CONTRACT_CODES = {"payer_not_confirmed": "not_confirmed", "payee_not_confirmed": "not_confirmed"}


# ---------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Payment:
    """One ledger entry as the rules see it. ``amount`` is negative for a refund (``reverses`` set)."""

    id: int
    ref: str
    kind: str  # rental / scenario_contract / data_access
    payer_id: int
    payee_id: int
    amount: Decimal
    paid_at: dt.datetime  # aware
    listing_kind: str | None = None
    reverses: int | None = None  # id of the payment it refunds
    problems: tuple[str, ...] = ()  # completeness reason codes; () = complete
    declared: tuple[DeclaredSubsidy, ...] = ()  # other subsidies declared for this item (per beneficiary)
    missing_evidence: tuple[str, ...] = ()  # which evidence types are missing (with "missing_evidence")

    @property
    def is_refund(self) -> bool:
        return self.reverses is not None


# ---------------------------------------------------------------- results
class Line(NamedTuple):
    """An entry that makes up a base. (A named tuple, not a dataclass: a year builds half a million.)"""

    entry_id: int
    ref: str
    amount: Decimal
    paid_at: dt.datetime
    version: str  # the parameter version it was judged (and rated) by


class Exclusion(NamedTuple):
    """An entry that earns nothing for a beneficiary under a rule, and why. (A named tuple, like :class:`Line`.)"""

    entry_id: int
    ref: str
    amount: Decimal
    paid_at: dt.datetime
    reasons: tuple[str, ...]  # codes; the first is the one exports show
    detail: str = ""  # e.g. which subsidy was chosen instead, which evidence is missing (words)
    missing: tuple[str, ...] = ()  # the missing evidence types (codes), with "missing_evidence"

    @property
    def reason(self) -> str:
        return CONTRACT_CODES.get(self.reasons[0], self.reasons[0])

    @property
    def message(self) -> str:
        words = REASON_WORDS.get(self.reasons[0], self.reasons[0])
        return f"{words}：{self.detail}" if self.detail else words


@dataclass(frozen=True)
class Choice:
    """One best-of decision (interpretation 3): which option won for an item, and why."""

    entry_id: int
    ref: str
    winner: str  # a rule id, or "other"
    ours: Decimal  # the marginal amount the item adds under the best of our rules, caps included
    other: Decimal  # the declared other subsidy (0 when the choice was between our rules)
    source: str  # the other subsidy's source, or the rule that lost

    @property
    def kind(self) -> str:
        return choice_kind(self.ref, self.winner, self.other)

    @property
    def why(self) -> str:
        """The choice in words of the default language (screens translate :data:`CHOICE_WORDS` themselves)."""
        return CHOICE_WORDS[self.kind] % choice_values(self.winner, self.ours, self.other, self.source)


def choice_kind(ref: str, winner: str, other: Decimal) -> str:
    """Which of :data:`CHOICE_WORDS` tells a choice: between our rules (no other subsidy in it), or ours against
    a declared other subsidy, won by ours or by the other, for one entry or (no ``ref``) for the rule's whole year.
    Read from a choice's fields, so a stored choice has it too."""
    kind = "other" if winner == "other" else "ours"
    if not ref:
        return "year_" + kind
    return "rules" if other <= 0 else kind


def choice_values(winner: str, ours: Decimal, other: Decimal, source: str) -> dict[str, str]:
    return {"winner": winner, "ours": fmt(ours), "other": fmt(other), "source": source}


@dataclass(frozen=True)
class Result:
    beneficiary_id: int
    rule: str
    year: int
    base: Decimal  # net, never below zero
    amount: Decimal
    uncapped: Decimal  # rounded, before the cap
    cap: Decimal
    capped: bool
    rates: tuple[tuple[str, Decimal], ...]  # (version, rate) of the versions that rated a line
    versions: tuple[str, ...]  # every version the result used (lines' and the cap's)
    article: int
    lines: Sequence[Line] = ()  # an InDateOrder when computed: made when first read
    exclusions: Sequence[Exclusion] = ()
    choices: tuple[Choice, ...] = ()

    @property
    def parameters(self) -> str:
        return ",".join(self.versions)


# ---------------------------------------------------------------- step 1: which payment is judged
def judged_payment(p: Payment, by_id: Mapping[int, Payment]) -> Payment:
    """A refund is judged as the payment it reverses (interpretation 1)."""
    if p.reverses is None:
        return p
    original = by_id.get(p.reverses)
    if original is None:
        raise ValueError(f"refund {p.ref} reverses an entry that was not loaded ({p.reverses})")
    return original


def structural_version(rule: Rule, day: dt.date) -> Version:
    """The version whose base filters decide whether an entry is the rule's business at all: the one in
    force, else the nearest (so a payment before the policy still shows as excluded, with its reason)."""
    v = rule.version_on(day)
    if v is not None:
        return v
    earlier = [x for x in rule.versions if x.effective_from <= day]
    return earlier[-1] if earlier else rule.versions[0]


# ---------------------------------------------------------------- step 2: which rules an entry feeds
def candidate_rules(p: Payment, params: Parameters, day: dt.date | None = None) -> list[tuple[Rule, int, int]]:
    """(rule, beneficiary id, counterparty id) for every ledger rule whose base the entry belongs to."""
    day = day or local_date(p.paid_at)
    out = []
    for rule_id in LEDGER_RULES:
        rule = params.rule(rule_id)
        if not structural_version(rule, day).feeds(p.kind, p.listing_kind):
            continue
        if rule.beneficiary == "payer":
            out.append((rule, p.payer_id, p.payee_id))
        else:
            out.append((rule, p.payee_id, p.payer_id))
    return out


# ---------------------------------------------------------------- step 3: why not
def facts_on(org_id: int, moment: dt.datetime, timelines: Mapping[int, Timeline], params: Parameters) -> OrgFacts | None:
    """The organisation's facts at ``moment``.

    Before its first recorded facts (history imported after it joined), with ``before_first_facts:
    first_known``: the facts it had at the end of its first Beijing day on the platform — registering
    sets kind, size, group and verification in several steps that day, and the first minutes' partial
    facts must not decide a year; with ``exclude``: None (reason ``not_registered``)."""
    timeline = timelines.get(org_id)
    if timeline is None or not timeline.periods:
        return None
    first = timeline.periods[0].valid_from
    if moment >= first:
        return timeline.at(moment)
    if params.before_first_facts != "first_known":
        return None
    settled = day_start(local_date(first) + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    return timeline.at(settled) or timeline.periods[0].facts


def party_relation(payer: int, payee: int, payer_facts: OrgFacts | None, payee_facts: OrgFacts | None,
                   group_of: Mapping[int, int | None]) -> str | None:
    """self_dealing / related_party on the payment date (groups from the dated facts when known,
    else from the current group map), or None."""
    groups = {
        payer: payer_facts.group_id if payer_facts is not None else group_of.get(payer),
        payee: payee_facts.group_id if payee_facts is not None else group_of.get(payee),
    }
    found = relation(payer, payee, groups)
    return found.value if found is not None else None


def beneficiary_reasons(facts: OrgFacts | None, version: Version) -> list[str]:
    if facts is None:
        return ["not_registered"]
    e = version.eligibility
    out = []
    if e.sme_required and not facts.is_sme:
        out.append("not_sme")
    if e.beneficiary_kinds is not None and facts.kind not in e.beneficiary_kinds:
        out.append("not_eligible_kind")
    if e.verified_required and not facts.verified:
        out.append("not_verified")
    if e.in_district_required and not facts.in_district:
        out.append("out_of_district")
    return out


def counterparty_reasons(facts: OrgFacts | None, version: Version) -> list[str]:
    e = version.eligibility
    out = []
    if e.counterparty_sme_required and (facts is None or not facts.is_sme):
        out.append("counterparty_not_sme")
    if e.counterparty_sme_required and not e.renter_anywhere and (facts is None or not facts.in_district):
        out.append("counterparty_out_of_district")
    if e.counterparty_kinds is not None and (facts is None or facts.kind not in e.counterparty_kinds):
        out.append("counterparty_kind")
    return out


def exclusion_reasons(p: Payment, judged: Payment, rule: Rule, beneficiary: int,
                      timelines: Mapping[int, Timeline], group_of: Mapping[int, int | None],
                      params: Parameters, judged_problems: tuple[str, ...] = (),
                      day: dt.date | None = None) -> tuple[str, ...]:
    """Every reason ``p`` earns nothing for ``beneficiary`` under ``rule`` (empty: it counts).
    ``day``: the Beijing date of the judged payment, when the caller has it."""
    day = day or local_date(judged.paid_at)
    payer_facts = facts_on(judged.payer_id, judged.paid_at, timelines, params)
    payee_facts = facts_on(judged.payee_id, judged.paid_at, timelines, params)
    rel = party_relation(judged.payer_id, judged.payee_id, payer_facts, payee_facts, group_of)
    ben_facts, other_facts = (payer_facts, payee_facts) if beneficiary == judged.payer_id else (payee_facts, payer_facts)
    return reasons_on(p.problems, p.is_refund and bool(judged_problems), day, rule.version_on(day), rel,
                      ben_facts, other_facts, params)


def reasons_on(problems: tuple[str, ...], reverses_incomplete: bool, day: dt.date, version: Version | None,
               rel: str | None, ben_facts: OrgFacts | None, other_facts: OrgFacts | None,
               params: Parameters) -> tuple[str, ...]:
    """:func:`exclusion_reasons` from the values it depends on: the entry's completeness codes, whether it
    is a refund of an incomplete payment, the judged payment's Beijing date and the rule's version on it,
    the parties' relation and facts on the payment date."""
    reasons = list(problems)
    if reverses_incomplete and "reversed_entry_incomplete" not in reasons:
        reasons.append("reversed_entry_incomplete")
    if day < params.effective_from:
        return (*reasons, "before_policy_start")
    if version is None:
        return (*reasons, "no_rule_in_force")
    if rel:
        reasons.append(rel)
    if rel != "self_dealing":
        reasons += beneficiary_reasons(ben_facts, version)
        reasons += counterparty_reasons(other_facts, version)
    return tuple(dict.fromkeys(reasons))


# ---------------------------------------------------------------- step 5: the amount of a base
@dataclass
class Tally:
    """One beneficiary's running base under one rule, by version (for rates) — what the amount needs."""

    rule: Rule
    year: int
    by_version: dict[str, Decimal] = field(default_factory=dict)

    def add(self, version: str, amount: Decimal) -> Tally:
        """In place (the running tally)."""
        self.by_version[version] = self.by_version.get(version, ZERO) + amount
        return self

    def plus(self, version: str, amount: Decimal) -> Tally:
        """A copy with ``amount`` added (to price a marginal amount)."""
        t = Tally(self.rule, self.year, dict(self.by_version))
        t.by_version[version] = t.by_version.get(version, ZERO) + amount
        return t


def year_cap(rule: Rule, year: int) -> tuple[Decimal, str]:
    """The cap of the last version in force in ``year`` (``cap_basis: year_end``)."""
    v = rule.year_end_version(year) or rule.versions[-1]
    return (v.cap_cny if v.cap_cny is not None else Decimal("Infinity")), v.id


_RULE_YEARS: dict[tuple[int, int], tuple] = {}


def _rule_year(rule: Rule, year: int) -> tuple[Rule, dict[str, Version], Decimal, str]:
    """(``rule``, its versions by id, :func:`year_cap`) — asked for each of a year's tens of thousands of
    results: remembered per rule object and year (the rule is held, so its id is not reused while known)."""
    key = (id(rule), year)
    found = _RULE_YEARS.get(key)
    if found is None or found[0] is not rule:
        if len(_RULE_YEARS) > 256:  # parameter sets come and go (tests, revisions): keep a few
            _RULE_YEARS.clear()
        found = _RULE_YEARS[key] = (rule, {v.id: v for v in rule.versions}, *year_cap(rule, year))
    return found


def rule_amount(tally: Tally, params: Parameters) -> tuple[Decimal, Decimal, Decimal, bool]:
    """(net base ≥ 0, rounded amount before the cap, amount, whether the cap bit).

    Rates per version (each line rated by the version it was judged by), rounded half-up once, then
    capped; a net base at or below zero earns nothing (interpretation 1)."""
    by_version = tally.by_version
    net = sum(by_version.values(), ZERO)
    if net <= 0:
        return ZERO, ZERO, ZERO, False
    _rule, versions, cap, _vid = _rule_year(tally.rule, tally.year)
    if len(by_version) == 1:  # the usual case: the same sum, without a generator per result
        [(vid, base)] = by_version.items()
        raw = ZERO + versions[vid].rate * base
    else:
        raw = sum((versions[vid].rate * base for vid, base in by_version.items()), ZERO)
    uncapped = max(params.round(raw), ZERO)
    amount = min(uncapped, cap)
    return net, uncapped, amount, uncapped > cap


def marginal(tally: Tally, version: str, amount: Decimal, params: Parameters) -> Decimal:
    """What adding ``amount`` to the base changes in the rule's amount, caps included."""
    return rule_amount(tally.plus(version, amount), params)[2] - rule_amount(tally, params)[2]


# ---------------------------------------------------------------- step 4: best-of per beneficiary
@dataclass(frozen=True)
class Item:
    """An entry that counts for a beneficiary under one or more of our rules (before best-of)."""

    payment: Payment
    original: Payment
    beneficiary: int
    options: tuple[tuple[str, str], ...]  # (rule id, version id), in rule order
    other: Decimal  # declared other subsidies for this item and beneficiary (0: none)
    other_source: str

    @property
    def order(self) -> tuple:
        # items without a declared other subsidy first, then those carrying one; payment-date order;
        # a refund after a payment of the same moment; then ref, so input order never matters
        return (self.other > 0, self.payment.paid_at, self.payment.is_refund, self.payment.ref)


def declared_for(p: Payment, beneficiary: int) -> tuple[Decimal, str]:
    found = [d for d in p.declared if d.beneficiary_id == beneficiary]
    return sum((d.amount_cny for d in found), ZERO), "、".join(sorted({d.source for d in found}))


def fmt(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def assign_best_of(items: Sequence[Item], tallies: dict[str, Tally], params: Parameters,
                   earlier_choices: Mapping[tuple[int, int], str] | None = None,
                   ) -> tuple[dict[int, str], list[Choice]]:
    """Decide, item by item, which option each entry feeds for this beneficiary; update ``tallies``.

    Returns {entry id: rule id or "other"} and the choices made. Marginal amounts are computed only
    where there is a choice (several of our rules, or a declared other subsidy). A refund follows the
    decision on the payment it reverses (same year: decided here; an earlier year:
    ``earlier_choices[(beneficiary, original id)]``, by default our first option).
    """
    decided: dict[int, str] = {}
    choices: list[Choice] = []
    for item in sorted(items, key=lambda i: i.order):
        p = item.payment
        options = dict(item.options)
        if p.is_refund:
            winner = decided.get(item.original.id) or (earlier_choices or {}).get((item.beneficiary, item.original.id))
            if winner is None or (winner != "other" and winner not in options):
                winner = item.options[0][0]
        elif len(item.options) == 1 and item.other <= 0:
            winner = item.options[0][0]
        else:
            margins = [(marginal(tallies[r], v, p.amount, params), -n, r) for n, (r, v) in enumerate(item.options)]
            best, _neg, winner = max(margins)
            if len(item.options) > 1:
                losers = "、".join(r for _m, _n, r in margins if r != winner)
                choices.append(Choice(p.id, p.ref, winner, best, ZERO, losers))
            if item.other > 0:
                if best <= item.other:
                    winner = "other"
                choices.append(Choice(p.id, p.ref, winner, best, item.other, item.other_source))
        decided[p.id] = winner
        if winner != "other":
            tallies[winner] = tallies[winner].add(options[winner], p.amount)
    return decided, choices


# ---------------------------------------------------------------- the year
def rule_result(beneficiary: int, rule: Rule, year: int, amounts: tuple[Decimal, Decimal, Decimal, bool],
                lines: Iterable[Line], exclusions: Iterable[Exclusion], choices: Iterable[Choice] = (),
                used: Collection[str] | None = None) -> Result:
    """One (beneficiary, rule) result: ``amounts`` from :func:`rule_amount`, the lines and exclusions in
    payment-date order, the versions the lines used (``used``, when the caller knows them: the keys of the
    tally every line was added to) and the year-end cap's."""
    net, uncapped, amount, capped = amounts
    _rule, versions, cap, cap_version = _rule_year(rule, year)
    lines = InDateOrder(lines)
    if used is None:
        used = lines.versions()
    # (rates, versions) per set of versions used — one or two sets a year, asked for each of its results
    key = (id(rule), year, next(iter(used)) if len(used) == 1 else frozenset(used))
    found = _RESULT_VERSIONS.get(key)
    if found is None or found[0] is not rule:
        if len(_RESULT_VERSIONS) > 256:  # parameter sets come and go (tests, revisions): keep a few
            _RESULT_VERSIONS.clear()
        ordered = sorted(used)
        found = _RESULT_VERSIONS[key] = (rule, tuple((vid, versions[vid].rate) for vid in ordered),
                                         tuple(sorted({*ordered, cap_version})))
    # the frozen dataclass's generated __init__ sets its 14 fields one by one through object.__setattr__, for
    # each of a year's tens of thousands of results: the same instance, its fields given at once (every field:
    # tests/unit/test_subsidy_rules.py, test_a_rule_result_is_the_result_its_fields_make)
    result = _new_result(Result)
    _set_fields(result, "__dict__", {
        "beneficiary_id": beneficiary, "rule": rule.id, "year": year, "base": net, "amount": amount,
        "uncapped": uncapped, "cap": cap, "capped": capped, "rates": found[1], "versions": found[2],
        "article": rule.article, "lines": lines, "exclusions": InDateOrder(exclusions), "choices": tuple(choices)})
    return result


new_tuple = tuple.__new__  # a named tuple from all its fields at once, without its generated Python __new__
_RESULT_VERSIONS: dict[tuple, tuple[Rule, tuple[tuple[str, Decimal], ...], tuple[str, ...]]] = {}
_new_result, _set_fields = object.__new__, object.__setattr__


_by_date = attrgetter("paid_at", "ref")  # (a C-level key: a year sorts half a million lines)


# ---------------------------------------------------------------- lines made when read
# A year's computation has half a million lines and a third as many exclusions, which its totals, the
# budget and the claims' counts never read one by one; a sheet, an export or a snapshot reads them all.
# So a group's members that share an outcome stay the columns they came in (the database's texts,
# converted item by item when read) until a result's lines are first read.
class MemberColumn(Sequence):
    """A column of a group's members as given (e.g. the database's texts), ``convert``-ed as items are read.
    ``raw`` may also be ONE comma-separated text of ``length`` items: split when first read (a year's totals
    never read most columns, and splitting them all made a million strings); or some members of another
    column (:meth:`take`): picked when first read."""

    __slots__ = ("_raw", "convert", "_len")

    def __init__(self, raw: Sequence | str, convert: Callable, length: int | None = None):
        self._raw, self.convert = raw, convert
        self._len = length if type(raw) is str else len(raw)

    @property
    def raw(self) -> Sequence:
        raw = self._raw
        if type(raw) is str:
            raw = self._raw = raw.split(",")
        elif type(raw) is _Members:
            raw = self._raw = _pick(raw.column.raw, raw.at)
        return raw  # type: ignore[return-value]

    def __len__(self) -> int:
        return self._len  # type: ignore[return-value]

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return list(map(self.convert, self.raw[i]))
        return self.convert(self.raw[i])

    def __iter__(self) -> Iterator:
        return map(self.convert, self.raw)

    def take(self, at: Sequence[int]) -> MemberColumn:
        """The members at the positions ``at``, picked when first read."""
        taken = _new_column(MemberColumn)  # (a mixed group takes four columns per outcome: no __init__ call)
        taken._raw, taken.convert, taken._len = _Members(self, at), self.convert, len(at)
        return taken


_new_column = object.__new__


def text_columns(n: int, ids: str, amounts: str, times: str, counterparties: str
                 ) -> tuple[MemberColumn, MemberColumn, MemberColumn, MemberColumn]:
    """A group's id, amount, UTC time and counterparty columns, each given as one comma-separated text of ``n``
    members (the database's; times in ISO form), made at once — a year makes them for tens of thousands of
    groups, so without four ``__init__`` calls."""
    a, b, c, d = _new_column(MemberColumn), _new_column(MemberColumn), _new_column(MemberColumn), _new_column(MemberColumn)
    a._raw, a.convert, a._len = ids, int, n
    b._raw, b.convert, b._len = amounts, Decimal, n
    c._raw, c.convert, c._len = times, from_iso, n
    d._raw, d.convert, d._len = counterparties, int, n
    return a, b, c, d


from_iso = dt.datetime.fromisoformat


class _Members(NamedTuple):
    """The members of ``column`` at the positions ``at`` (a :class:`MemberColumn` taken from another)."""

    column: MemberColumn
    at: Sequence[int]


def _pick(items: Sequence, at: Sequence[int]) -> list:
    """The items at the positions ``at`` (one C-level call)."""
    return list(itemgetter(*at)(items)) if len(at) > 1 else [items[i] for i in at]


def _take(column: Sequence, at: Sequence[int]) -> Sequence:
    """The items of ``column`` at the positions ``at`` (a :class:`MemberColumn` stays one)."""
    return column.take(at) if type(column) is MemberColumn else _pick(column, at)  # type: ignore[attr-defined]


class Part:
    """Members of a group with the same outcome — ``make(id, ref, amount, paid_at, *same)`` each, a
    :class:`Line` or an :class:`Exclusion` — kept as columns until read."""

    __slots__ = ("make", "columns", "same")

    def __init__(self, make: Callable, columns: tuple[Sequence, Sequence, Sequence, Sequence], same: tuple):
        self.make, self.columns, self.same = make, columns, same

    def __len__(self) -> int:
        return len(self.columns[0])  # a MemberColumn knows its length without splitting its text

    def __iter__(self) -> Iterator:
        return map(self.make, *self.columns, *map(repeat, self.same))


class InDateOrder(Sequence):
    """A result's lines (or exclusions) in payment-date order, from items and :class:`Part`-s given in any
    order; the objects are made and sorted when first read (then only they are kept)."""

    __slots__ = ("_given", "_len", "_items")

    def __init__(self, given: Iterable):
        self._given = given if type(given) is list else list(given)
        self._len: int | None = None  # counted when first asked (a year's totals never ask)
        self._items: tuple | None = None

    def versions(self) -> set[str]:
        """The parameter versions of the lines (without making them)."""
        return {x.same[0] if type(x) is Part else x.version for x in self._given} if self._items is None \
            else {ln.version for ln in self._items}

    def _all(self) -> tuple:
        if self._items is None:
            flat = chain.from_iterable(x if type(x) is Part else (x,) for x in self._given)
            self._items, self._given = tuple(sorted(flat, key=_by_date)), []
            self._len = len(self._items)
        return self._items

    def __len__(self) -> int:
        if self._len is None:
            n = 0
            for x in self._given:
                n += len(x) if type(x) is Part else 1
            self._len = n
        return self._len

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, i):  # type: ignore[override]
        return self._all()[i]

    def __iter__(self) -> Iterator:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == len(self) and self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"InDateOrder({list(self._all())!r})"


def compute(
    year: int,
    payments: Iterable[Payment],
    timelines: Mapping[int, Timeline],
    group_of: Mapping[int, int | None],
    params: Parameters,
    declared: Iterable[DeclaredSubsidy] = (),
    earlier_choices: Mapping[tuple[int, int], str] | None = None,
    beneficiaries: Container[int] | None = None,
) -> list[Result]:
    """Every (beneficiary, rule) of ``year`` with a base or an exclusion, ordered by beneficiary, rule.

    ``payments``: the entries paid in ``year`` (Beijing calendar year) plus the payments that this
    year's refunds reverse (those of other years only decide eligibility). ``declared``: declared
    other subsidies at organisation level (``rule`` and ``year`` set); per-item declarations travel on
    :attr:`Payment.declared`. ``beneficiaries``: compute only these (a caller streaming the year one
    beneficiary at a time passes that beneficiary's payments and ``{it}``).
    """
    payments = list(payments)
    by_id = {p.id: p for p in payments}
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)

    items: dict[int, list[Item]] = defaultdict(list)  # by beneficiary
    exclusions: dict[tuple[int, str], list[Exclusion]] = defaultdict(list)
    touched: set[tuple[int, str]] = set()
    days: dict[int, dt.date] = {}  # each payment's Beijing date, computed once
    for p in payments:
        days[p.id] = local_date(p.paid_at)
    for p in payments:
        if not first <= days[p.id] <= last:
            continue
        judged = judged_payment(p, by_id)
        day = days[judged.id]
        options: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for rule, beneficiary, _counterparty in candidate_rules(judged, params, day):
            if beneficiaries is not None and beneficiary not in beneficiaries:
                continue
            touched.add((beneficiary, rule.id))
            reasons = exclusion_reasons(p, judged, rule, beneficiary, timelines, group_of, params,
                                        judged.problems if p.is_refund else (), day)
            if reasons:
                exclusions[(beneficiary, rule.id)].append(
                    Exclusion(p.id, p.ref, p.amount, p.paid_at, *_exclusion_fields(reasons, p.missing_evidence)))
            else:
                version = rule.version_on(day)
                assert version is not None  # exclusion_reasons refuses a date without a version
                options[beneficiary].append((rule.id, version.id))
        for beneficiary, opts in options.items():
            other, source = declared_for(judged, beneficiary)
            items[beneficiary].append(Item(p, judged, beneficiary, tuple(opts), other, source))

    results: list[Result] = []
    org_declared: dict[tuple[int, str], list[DeclaredSubsidy]] = defaultdict(list)
    for d in declared:
        if d.entry_id is None and d.rule in LEDGER_RULES and d.year == year:
            org_declared[(d.beneficiary_id, d.rule)].append(d)

    for beneficiary in sorted({b for b, _r in touched}):
        tallies = {r: Tally(params.rule(r), year) for r in LEDGER_RULES}
        decisions, choices = assign_best_of(items.get(beneficiary, []), tallies, params, earlier_choices)
        options_of = {item.payment.id: item.options for item in items.get(beneficiary, [])}
        rule_choices: dict[str, list[Choice]] = defaultdict(list)
        for c in choices:  # in the order they were made
            for rule_id, _v in options_of[c.entry_id]:
                rule_choices[rule_id].append(c)
        lines: dict[str, list[Line]] = defaultdict(list)
        for item in items.get(beneficiary, []):
            p = item.payment
            winner = decisions[p.id]
            for rule_id, version in item.options:
                if rule_id == winner:
                    lines[rule_id].append(Line(p.id, p.ref, p.amount, p.paid_at, version))
                elif winner == "other":
                    exclusions[(beneficiary, rule_id)].append(Exclusion(
                        p.id, p.ref, p.amount, p.paid_at, ("other_subsidy_chosen",), item.other_source))
                else:
                    exclusions[(beneficiary, rule_id)].append(Exclusion(
                        p.id, p.ref, p.amount, p.paid_at, ("other_rule_chosen",), winner))
        for rule_id in LEDGER_RULES:
            if (beneficiary, rule_id) not in touched:
                continue
            rule = params.rule(rule_id)
            rule_lines = lines.get(rule_id, [])
            chosen = rule_choices.get(rule_id, [])
            tally = tallies[rule_id]
            net, uncapped, amount, capped = rule_amount(tally, params)
            # an organisation-level declaration covers the rule's whole year for this beneficiary
            decl = org_declared.get((beneficiary, rule_id))
            if decl and rule_lines:
                other = sum((d.amount_cny for d in decl), ZERO)
                source = "、".join(sorted({d.source for d in decl}))
                if amount > other:
                    chosen.append(Choice(0, "", rule_id, amount, other, source))
                else:
                    chosen.append(Choice(0, "", "other", amount, other, source))
                    exclusions[(beneficiary, rule_id)].extend(
                        Exclusion(ln.entry_id, ln.ref, ln.amount, ln.paid_at, ("other_subsidy_chosen",), source)
                        for ln in rule_lines)
                    rule_lines, tally = [], Tally(rule, year)
                    net, uncapped, amount, capped = ZERO, ZERO, ZERO, False
            results.append(rule_result(beneficiary, rule, year, (net, uncapped, amount, capped), rule_lines,
                                       exclusions.get((beneficiary, rule_id), []), chosen))
    return results


# ---------------------------------------------------------------- the plain path
# Most beneficiaries' years need no best-of: every entry feeds one rule of theirs, nobody declared another
# subsidy for it, they are on one side of each deal. Their results are then sums per version and the
# lines in date order; :func:`compute_plain` gives them without the per-item machinery (Payment, Item,
# marginal pricing), and :func:`compute` stays the reference: tests/unit/test_subsidy_rules.py proves
# them equal on random worlds, tests/integration/subsidies/test_subsidy_engine.py on a database.
class PlainEntry(NamedTuple):
    """One entry of a beneficiary's year for :func:`compute_plain`, with what it is judged on: the payment
    itself, or for a refund the payment it reverses (step 1)."""

    id: int
    ref: str
    amount: Decimal
    paid_at: dt.datetime
    problems: tuple[str, ...]  # its completeness codes
    missing: tuple[str, ...]  # missing evidence types (with "missing_evidence")
    kind: str  # the judged payment's
    listing_kind: str | None
    payer_id: int
    payee_id: int
    judged_at: dt.datetime
    day: dt.date  # the Beijing date of judged_at
    reverses_incomplete: bool  # a refund of a payment that has completeness problems


class PlainGroup(NamedTuple):
    """Entries of one beneficiary's year on the same side that share what decides their rule and version
    and their completeness: the same kind and listing kind, Beijing dates in one stretch where no parameter
    version starts or ends, the same completeness codes; no refunds, no self-dealing. ``entry`` is one of
    them (their rule, version and completeness are judged once, by it); the members (``entry`` included)
    are given column by column, in any order, each with its counterparty, whose facts on the member's
    payment date are looked up per member. The columns may be :class:`MemberColumn`-s (converted when read);
    ``total`` and ``first``, when given, are the members' sum and earliest payment (so a group whose members
    all count needs neither read one by one)."""

    entry: PlainEntry
    ids: Sequence[int]
    refs: Sequence[str]
    amounts: Sequence[Decimal]
    paid_at: Sequence[dt.datetime]
    counterparties: Sequence[int]
    total: Decimal | None = None
    first: dt.datetime | None = None


def plain_entry(p: Payment, judged: Payment, day: dt.date | None = None) -> PlainEntry:
    return PlainEntry(p.id, p.ref, p.amount, p.paid_at, p.problems, p.missing_evidence, judged.kind,
                      judged.listing_kind, judged.payer_id, judged.payee_id, judged.paid_at,
                      day or local_date(judged.paid_at), p.is_refund and bool(judged.problems))


def plain_entries(year: int, payments: Iterable[Payment], beneficiary: int) -> list[PlainEntry] | None:
    """``beneficiary``'s entries of ``year`` (Beijing calendar year) for :func:`compute_plain`, or None when
    its year is not plain: a deal it is on both sides of, or an other subsidy declared for it on an item."""
    payments = list(payments)
    by_id = {p.id: p for p in payments}
    out = []
    for p in payments:
        if local_date(p.paid_at).year != year:
            continue
        judged = judged_payment(p, by_id)
        if beneficiary not in (judged.payer_id, judged.payee_id):
            continue
        if judged.payer_id == judged.payee_id or declared_for(judged, beneficiary)[0] > 0:
            return None
        out.append(plain_entry(p, judged))
    return out


def single_option(params: Parameters) -> bool:
    """No entry can feed two ledger rules paying the same side (then best-of is needed between them)."""
    for a, b in ((a, b) for i, a in enumerate(LEDGER_RULES) for b in LEDGER_RULES[i + 1:]):
        ra, rb = params.rule(a), params.rule(b)
        if ra.beneficiary != rb.beneficiary:
            continue
        for fa in (f for v in ra.versions for f in v.base):
            for fb in (f for v in rb.versions for f in v.base):
                if fa.entry_kind == fb.entry_kind and fa.listing_kinds & fb.listing_kinds:
                    return False
    return True


def compute_plain(year: int, beneficiary: int, entries: Iterable[PlainEntry | PlainGroup], timelines: Mapping[int, Timeline],
                  group_of: Mapping[int, int | None], params: Parameters, declared: Iterable[DeclaredSubsidy] = (),
                  memo: dict | None = None) -> list[Result] | None:
    """:func:`compute` for one beneficiary whose year is plain (:func:`plain_entries`), or None when it is
    not after all: an organisation-level declaration for one of its rules, or parameters under which an
    entry may feed two of its rules (:func:`single_option`). Each entry is judged exactly as there
    (steps 2 and 3, :func:`reasons_on`), and feeds its one rule: no best-of, no choices. A
    :class:`PlainGroup` is judged once, by its ``entry``, and its members follow it.

    ``memo``: a dict the caller may keep across beneficiaries (a :class:`PlainJudge` per parameters,
    timelines and group map; what it remembers is bounded by dates and facts, not by entries)."""
    judge = PlainJudge.of(memo, params, timelines, group_of)
    if not judge.single_option:
        return None
    for d in declared:
        if d.entry_id is None and d.beneficiary_id == beneficiary and d.rule in LEDGER_RULES and d.year == year:
            return None
    lines: dict[str, list[Line]] = {}
    exclusions: dict[str, list[Exclusion]] = {}
    tallies: dict[str, Tally] = {}
    rule_of, verdict_of, class_at = judge.rule_of, judge.verdict_of, judge.class_at
    ben_steady = judge.steady(beneficiary)
    for item in entries:  # the hot loop of a year: what repeats is asked once (PlainJudge)
        group = item if type(item) is PlainGroup else None
        e: PlainEntry = group.entry if group is not None else item  # type: ignore[assignment]
        payer, payee = e.payer_id, e.payee_id
        if payer == payee:  # self-dealing: both sides' rules are options for it
            return None
        if beneficiary == payer:
            role = "payer"
        elif beneficiary == payee:
            role = "payee"
        else:  # a refund whose original is between other parties: not this beneficiary's
            continue
        rule_key = (e.day, role, e.kind, e.listing_kind)
        found = rule_of.get(rule_key) or judge.rule_on(rule_key)
        rule = found[0]
        if rule is None:
            continue
        rid = rule.id
        if rid not in tallies:
            lines[rid], exclusions[rid], tallies[rid] = [], [], Tally(rule, year)
        if group is not None:
            _plain_group(judge, group, role, rule, found, lines[rid], exclusions[rid], tallies[rid], ben_steady)
            continue
        payer_class, payee_class = class_at(payer, e.judged_at), class_at(payee, e.judged_at)
        if payer_class >= 0 and payee_class >= 0:  # then facts values decide it all
            verdict_key = (found[2], e.problems, e.reverses_incomplete, role, payer_class, payee_class)
            reasons = verdict_of.get(verdict_key)
            if reasons is None:
                reasons = verdict_of[verdict_key] = judge.reasons(e, rule, found[1], role)
        else:
            reasons = judge.reasons(e, rule, found[1], role)
        if reasons:
            exclusions[rid].append(new_tuple(Exclusion, (e.id, e.ref, e.amount, e.paid_at,
                                                         *_exclusion_fields(reasons, e.missing))))
        else:
            vid = found[1].id  # type: ignore[union-attr]
            lines[rid].append(new_tuple(Line, (e.id, e.ref, e.amount, e.paid_at, vid)))  # (every field: no Python __new__)
            tallies[rid].add(vid, e.amount)
    # every line was added to its rule's tally (with its version): the tally's versions are the lines'
    return [rule_result(beneficiary, tallies[r].rule, year, rule_amount(tallies[r], params), lines[r], exclusions[r],
                        used=tallies[r].by_version.keys()) for r in LEDGER_RULES if r in tallies]


def _plain_group(judge: PlainJudge, group: PlainGroup, role: str, rule: Rule, found: tuple,
                 lines: list[Line], exclusions: list[Exclusion], tally: Tally,
                 ben_steady: tuple[dt.datetime, OrgFacts, int] | None) -> None:
    """:func:`compute_plain` for the members of ``group``: the same judgement as for single entries, the
    facts of both parties looked up per member (the beneficiary's once when it has one period:
    ``ben_steady``, :meth:`PlainJudge.steady`). The loop runs once per entry of the year: the usual case is
    two dictionary look-ups."""
    e = group.entry
    ben = e.payer_id if role == "payer" else e.payee_id
    first = group.first if group.first is not None else min(group.paid_at)
    ben_class = ben_steady[2] if ben_steady is not None and first >= ben_steady[0] else None
    if ben_class is not None and _plain_group_at_once(judge, group, role, rule, found, ben_class, first, lines,
                                                      exclusions, tally):
        return
    version = found[1]
    vid = version.id if version is not None else None
    fixed = (found[2], e.problems, e.reverses_incomplete, role)
    verdict_of, class_at, steady_of, steady = judge.verdict_of, judge.class_at, judge.steady, judge._steady
    known: dict[int, tuple[str, ...]] = {}  # counterparty's facts number -> reasons, with ben_class
    verdicts: list[tuple[str, ...]] = []
    for paid_at, other in zip(group.paid_at, group.counterparties, strict=True):
        theirs = steady.get(other, False)
        if theirs is False:
            theirs = steady_of(other)
        theirs = theirs[2] if theirs is not None and paid_at >= theirs[0] else class_at(other, paid_at)
        reasons = known.get(theirs) if ben_class is not None else None
        if reasons is None:
            mine = ben_class if ben_class is not None else class_at(ben, paid_at)
            if mine >= 0 and theirs >= 0:
                key = (*fixed, mine, theirs) if role == "payer" else (*fixed, theirs, mine)
                reasons = verdict_of.get(key)
                if reasons is None:
                    reasons = verdict_of[key] = judge.reasons(_member(e, role, other, paid_at), rule, version, role)
                if ben_class is not None:
                    known[theirs] = reasons
            else:
                reasons = judge.reasons(_member(e, role, other, paid_at), rule, version, role)
        verdicts.append(reasons)
    _place(group, verdicts, vid, lines, exclusions, tally)


def _plain_group_at_once(judge: PlainJudge, group: PlainGroup, role: str, rule: Rule, found: tuple, ben_class: int,
                         first: dt.datetime, lines: list[Line], exclusions: list[Exclusion], tally: Tally) -> bool:
    """:func:`_plain_group` when every counterparty had one period since before the group's first payment
    (the usual case): the members' facts numbers in one pass, one judgement per distinct number, and the
    lines made column by column. False when that does not hold (the caller then goes member by member)."""
    cps = group.counterparties
    if type(cps) is MemberColumn:  # ids as the database's texts: looked up as they are, not made integers
        keys, number_of = cps.raw, judge.settled_texts(first.year).__getitem__
    else:
        keys, number_of = cps, judge.settled(first.year).__getitem__
    try:  # the usual case: every counterparty's one period began before the year
        members = list(map(number_of, keys))  # each member's counterparty's facts number
    except KeyError:
        cps = list(cps)
        number_of = _steady_numbers(judge, cps, first)  # type: ignore[assignment]
        if number_of is None:
            return False
        members = list(map(number_of, cps))
    numbers = set(members)
    e, version = group.entry, found[1]
    # counterparty's facts number -> reasons, for this rule and version, completeness, side and beneficiary's facts
    key = (found[2], e.problems, e.reverses_incomplete, role, ben_class)
    verdicts = judge.group_verdicts.get(key)
    if verdicts is None:
        verdicts = judge.group_verdicts[key] = {}
    for number in numbers.difference(verdicts):  # judged once per year: the facts values decide it all
        verdicts[number] = judge.reasons_of_classes(e, version, role, ben_class, number)
    vid = version.id if version is not None else None
    outcomes = set(map(verdicts.__getitem__, numbers))
    if len(outcomes) == 1:  # one outcome for every member (the usual case)
        _place_all(group, outcomes.pop(), vid, lines, exclusions, tally)
        return True
    _place(group, list(map(verdicts.__getitem__, members)), vid, lines, exclusions, tally, outcomes)
    return True


def _steady_numbers(judge: PlainJudge, cps: Sequence[int], first: dt.datetime) -> Callable[[int], int] | None:
    """Counterparty -> its facts number, when each of ``cps`` has one open-ended period that began by ``first``;
    else None."""
    steady, steady_of = judge._steady, judge.steady
    others = set(cps)
    for other in others.difference(steady):  # organisations not looked up yet
        steady_of(other)
    numbers = {}
    for other in others:
        period = steady[other]
        if period is None or period[0] > first:
            return None
        numbers[other] = period[2]
    return numbers.__getitem__


def _place_all(group: PlainGroup, reasons: tuple[str, ...], vid: str | None, lines: list, exclusions: list,
               tally: Tally) -> None:
    """Every member of ``group`` as a line (their sum into ``tally``) or, with ``reasons``, an exclusion: one
    :class:`Part` of the group's columns."""
    columns = (group.ids, group.refs, group.amounts, group.paid_at)
    if reasons:
        exclusions.append(Part(Exclusion, columns, _exclusion_fields(reasons, group.entry.missing)))
        return
    lines.append(Part(Line, columns, (vid,)))
    tally.add(vid, group.total if group.total is not None else sum(group.amounts, ZERO))  # type: ignore[arg-type]


def _exclusion_fields(reasons: tuple[str, ...], missing: tuple[str, ...]) -> tuple:
    """(reasons, detail, missing) of an :class:`Exclusion` for ``reasons``: the missing evidence named in words
    when that is the reason."""
    if reasons[0] == "missing_evidence":
        return reasons, "、".join(EVIDENCE_WORDS.get(m, m) for m in missing), missing
    return reasons, "", ()


def _place(group: PlainGroup, verdicts: Sequence[tuple[str, ...]], vid: str | None, lines: list,
           exclusions: list, tally: Tally, outcomes: set[tuple[str, ...]] | None = None) -> None:
    """Each member of ``group`` as a line (its amount into ``tally``) or an exclusion, by its reasons: one
    :class:`Part` per outcome (``outcomes``: the distinct reasons, when the caller has them)."""
    if outcomes is None:
        outcomes = set(verdicts)
    if len(outcomes) == 1:
        _place_all(group, verdicts[0], vid, lines, exclusions, tally)
        return
    members = range(len(verdicts))
    # each outcome's positions in one C-level pass (equal reasons are equal tuples)
    at = {reasons: list(compress(members, map(eq, verdicts, repeat(reasons)))) for reasons in outcomes}
    for reasons, positions in sorted(at.items(), key=_first_position):
        columns = (_take(group.ids, positions), _take(group.refs, positions), _take(group.amounts, positions),
                   _take(group.paid_at, positions))
        if reasons:
            exclusions.append(Part(Exclusion, columns, _exclusion_fields(reasons, group.entry.missing)))
        else:
            lines.append(Part(Line, columns, (vid,)))
    counted = at.get(())
    if counted is not None:  # their sum: from the fewer members, the group's total known (exact: Decimal sums)
        if group.total is not None and 2 * len(counted) > len(verdicts):
            others = [i for reasons, positions in at.items() if reasons for i in positions]
            tally.add(vid, group.total - sum(_take(group.amounts, others), ZERO))  # type: ignore[arg-type]
        else:
            tally.add(vid, sum(_take(group.amounts, counted), ZERO))  # type: ignore[arg-type]


def _first_position(item: tuple[tuple[str, ...], list[int]]) -> int:
    """The outcomes in the order of their first member (as a pass over the members would meet them)."""
    return item[1][0]


def _member(e: PlainEntry, role: str, other: int, paid_at: dt.datetime) -> PlainEntry:
    """A member of ``e``'s group as a :class:`PlainEntry` of its own (what :meth:`PlainJudge.reasons` reads)."""
    payer, payee = (e.payer_id, other) if role == "payer" else (other, e.payee_id)
    return e._replace(payer_id=payer, payee_id=payee, paid_at=paid_at, judged_at=paid_at, day=local_date(paid_at))


class PlainJudge:
    """Steps 2 and 3 for :func:`compute_plain`, remembering what repeats: the rule an entry kind feeds on a
    day, an organisation's facts when it has one open-ended period, and the reasons for each combination
    of (rule, version, completeness, facts values) — so a year asks each question once, not per entry."""

    def __init__(self, params: Parameters, timelines: Mapping[int, Timeline], group_of: Mapping[int, int | None]):
        self.params, self.timelines, self.group_of = params, timelines, group_of  # held: ids below stay valid
        self.single_option = single_option(params)
        self._rules: dict[tuple, tuple[Rule | None, Version | None]] = {}
        self._steady: dict[int, tuple[dt.datetime, OrgFacts, int] | None] = {}
        self._settled: dict[int, dict[int, int]] = {}  # year -> settled(...)
        self._settled_texts: dict[int, dict[str, int]] = {}  # year -> settled_texts(...)
        self._class_of: dict[int, int] = {}  # id(facts) -> the number of its value
        self._classes: dict[OrgFacts, int] = {}
        self._facts_of: list[OrgFacts] = []  # number -> facts value
        self._reasons: dict[tuple, tuple[str, ...]] = {}
        # compute_plain's own look-ups, read without a method call per entry:
        # (day, role, kind, listing kind) -> (rule, version, a number for (rule, version, before the policy))
        self.rule_of: dict[tuple, tuple[Rule | None, Version | None, int]] = {}
        self._rule_numbers: dict[tuple, int] = {}
        # (that number, problems, refund of an incomplete payment, role, payer's and payee's facts classes) -> reasons
        self.verdict_of: dict[tuple, tuple[str, ...]] = {}
        # the same reasons for a group's members (_plain_group_at_once): (that number, problems, refund of an
        # incomplete payment, role, the beneficiary's facts class) -> {counterparty's facts class: reasons}
        self.group_verdicts: dict[tuple, dict[int, tuple[str, ...]]] = {}

    @classmethod
    def of(cls, memo: dict | None, params: Parameters, timelines: Mapping[int, Timeline],
           group_of: Mapping[int, int | None]) -> PlainJudge:
        if memo is None:
            return cls(params, timelines, group_of)
        key = (id(params), id(timelines), id(group_of))
        if key not in memo:
            memo[key] = cls(params, timelines, group_of)
        return memo[key]

    def rule_for(self, day: dt.date, role: str, kind: str, listing_kind: str | None) -> tuple[Rule | None, Version | None]:
        """The one ledger rule paying ``role`` that an entry of ``kind`` feeds on ``day`` (step 2), and its
        version in force that day; (None, None) when none does."""
        key = (day, role, kind, listing_kind)
        found = self._rules.get(key)
        if found is None:
            found = self._rules[key] = (None, None)
            for rule_id in LEDGER_RULES:
                rule = self.params.rule(rule_id)
                if rule.beneficiary == role and structural_version(rule, day).feeds(kind, listing_kind):
                    found = self._rules[key] = (rule, rule.version_on(day))
                    break
        return found

    def rule_on(self, key: tuple) -> tuple[Rule | None, Version | None, int]:
        """``rule_of[key]``: :meth:`rule_for` and the number of what the reasons depend on of it."""
        day = key[0]
        rule, version = self.rule_for(*key)
        what = (rule.id if rule else None, version.id if version else None, day < self.params.effective_from)
        found = self.rule_of[key] = (rule, version, self._rule_numbers.setdefault(what, len(self._rule_numbers)))
        return found

    def steady(self, org_id: int) -> tuple[dt.datetime, OrgFacts, int] | None:
        """(from, facts, their number) of an organisation with one open-ended period, else None."""
        steady = self._steady.get(org_id, False)
        if steady is False:
            timeline = self.timelines.get(org_id)
            one = timeline is not None and len(timeline.periods) == 1 and timeline.periods[0].valid_to is None
            period = timeline.periods[0] if one else None  # type: ignore[union-attr]
            steady = self._steady[org_id] = (
                (period.valid_from, period.facts, self._class(period.facts)) if period is not None else None)
        return steady  # type: ignore[return-value]

    def settled(self, year: int) -> dict[int, int]:
        """{organisation: its facts number} for the organisations of the timelines whose one open-ended period
        began before ``year`` (by the day before its 1 January in UTC, so before any moment of that UTC year
        whatever its offset): their facts at such a moment need no look-up. Made once per year."""
        found = self._settled.get(year)
        if found is None:
            before = dt.datetime(year, 1, 1, tzinfo=dt.UTC) - dt.timedelta(days=1)
            found = self._settled[year] = {}
            for org_id, timeline in self.timelines.items():  # (what steady() says, without a call per organisation)
                periods = timeline.periods
                if len(periods) == 1 and periods[0].valid_to is None and periods[0].valid_from <= before:
                    found[org_id] = self._class(periods[0].facts)
        return found

    def settled_texts(self, year: int) -> dict[str, int]:
        """:meth:`settled` keyed by the organisations' ids as decimal texts (a group's counterparties as the
        database gives them: a year's members need no integer each). Made once per year."""
        found = self._settled_texts.get(year)
        if found is None:
            found = self._settled_texts[year] = {str(org_id): n for org_id, n in self.settled(year).items()}
        return found

    def class_at(self, org_id: int, moment: dt.datetime) -> int:
        """The number of the organisation's facts value at ``moment`` (-1: none)."""
        steady = self._steady.get(org_id, False)
        if steady and moment >= steady[0]:  # type: ignore[index]
            return steady[2]  # type: ignore[index]
        return self.facts(org_id, moment)[1]

    def facts(self, org_id: int, moment: dt.datetime) -> tuple[OrgFacts | None, int]:
        """:func:`facts_on` (without the look-up for an organisation whose one period covers ``moment``),
        and the number of its value (-1 for None)."""
        steady = self.steady(org_id)
        if steady is not None and moment >= steady[0]:
            return steady[1], steady[2]
        facts = facts_on(org_id, moment, self.timelines, self.params)
        return facts, (self._class(facts) if facts is not None else -1)

    def _class(self, facts: OrgFacts) -> int:
        found = self._class_of.get(id(facts))
        if found is None:
            found = self._classes.get(facts)
            if found is None:
                found = self._classes[facts] = len(self._facts_of)
                self._facts_of.append(facts)
            self._class_of[id(facts)] = found
        return found

    def reasons_of_classes(self, e: PlainEntry, version: Version | None, role: str, ben_class: int,
                           other_class: int) -> tuple[str, ...]:
        """:meth:`reasons` for a member of ``e``'s group (same rule, version, day's stretch and completeness)
        whose beneficiary's and counterparty's facts on its payment date have the numbers ``ben_class`` and
        ``other_class`` (both known): the facts values decide it all, so the member itself is not needed
        (a group is never self-dealing, so the parties' relation is their facts' groups')."""
        ben_facts, other_facts = self._facts_of[ben_class], self._facts_of[other_class]
        payer_facts, payee_facts = (ben_facts, other_facts) if role == "payer" else (other_facts, ben_facts)
        rel = party_relation(e.payer_id, e.payee_id, payer_facts, payee_facts, self.group_of)
        return reasons_on(e.problems, e.reverses_incomplete, e.day, version, rel, ben_facts, other_facts, self.params)

    def reasons(self, e: PlainEntry, rule: Rule, version: Version | None, role: str) -> tuple[str, ...]:
        """:func:`exclusion_reasons` of ``e`` for its ``role``'s beneficiary under ``rule``."""
        payer_facts, payer_class = self.facts(e.payer_id, e.judged_at)
        payee_facts, payee_class = self.facts(e.payee_id, e.judged_at)
        key = None
        if payer_facts is not None and payee_facts is not None:  # then facts values decide it all
            key = (rule.id, version.id if version else None, e.problems, e.reverses_incomplete,
                   e.day < self.params.effective_from, role, payer_class, payee_class)
            found = self._reasons.get(key)
            if found is not None:
                return found
        rel = party_relation(e.payer_id, e.payee_id, payer_facts, payee_facts, self.group_of)
        ben_facts, other_facts = (payer_facts, payee_facts) if role == "payer" else (payee_facts, payer_facts)
        found = reasons_on(e.problems, e.reverses_incomplete, e.day, version, rel, ben_facts, other_facts, self.params)
        if key is not None:
            self._reasons[key] = found
        return found

__all__ = ["Payment", "Line", "Exclusion", "Choice", "Result", "compute", "compute_plain", "PlainEntry", "PlainGroup",
           "plain_entries", "REASON_WORDS", "rule_amount", "Tally"]
