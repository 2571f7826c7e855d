"""What a deal would add to a beneficiary's subsidy this year, before it is made — and the engine's answer
for one ledger entry, per side (POLICY.md; issue 10 "Estimates where decisions are made").

No second copy of the rules: the pure core calls ``rules.candidate_rules``, ``rules.exclusion_reasons``,
``rules.rule_amount`` and ``rules.marginal`` with the beneficiary's year so far, taken from the engine's
own result (``services.results_for``). The loaders below read the organisations' dated facts and group
map for the two parties only.

* :func:`estimate` (pure): a hypothetical payment ``amount`` between payer and payee now → the rule's
  marginal amount for the beneficiary, caps included, the remaining room under the cap, or the reasons
  it would earn nothing (the engine's reason codes).
* :func:`standing` (pure): a beneficiary's figure under one rule this year (provider art. 7 standing).
* :func:`entry_answer` (loader): for one ledger entry, per side, the rule it counts under and what it
  contributes, or why it is excluded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from market.domain.localtime import local_date, local_year
from market.domain.orgfacts import Timeline

from .parameters import Parameters
from .rules import N_, REASON_WORDS, Payment, Result, Tally, candidate_rules, exclusion_reasons, marginal, rule_amount, year_cap

ZERO = Decimal("0.00")
# the engine's reason words, plus the one an estimate alone can give (a deal no ledger rule reads)
ESTIMATE_WORDS = {**REASON_WORDS, "not_in_base": N_("该交易不属于本条款的计算范围")}
HYPOTHETICAL_ID = -1  # the deal being considered has no ledger id yet


@dataclass(frozen=True)
class Estimate:
    rule: str
    year: int
    used: Decimal  # the beneficiary's amount under the rule so far this year
    cap: Decimal
    remaining: Decimal  # room under the cap before this deal
    amount: Decimal | None  # what this deal would add (None: the deal's amount is not known yet)
    rate: Decimal | None
    reasons: tuple[str, ...] = ()  # why it would earn nothing (engine codes); () = it counts

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def reason_words(self) -> list[str]:
        return [ESTIMATE_WORDS.get(r, r) for r in self.reasons]

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "year": self.year, "eligible": self.eligible,
                "amount_cny": None if self.amount is None else f"{self.amount:.2f}",
                "remaining_cny": f"{self.remaining:.2f}", "used_cny": f"{self.used:.2f}",
                "cap_cny": f"{self.cap:.2f}", "rate": None if self.rate is None else f"{self.rate}",
                "reasons": list(self.reasons)}


def tally_of(result: Result | None, rule, year: int) -> Tally:
    """The beneficiary's running base under ``rule`` this year, rebuilt from the engine's lines."""
    tally = Tally(rule, year)
    if result is not None:
        for ln in result.lines:
            tally.add(ln.version, ln.amount)
    return tally


def estimate(rule_id: str, *, payer_id: int, payee_id: int, kind: str, listing_kind: str | None,
             amount: Decimal | None, when: dt.datetime, results: Sequence[Result],
             timelines: Mapping[int, Timeline], group_of: Mapping[int, int | None], params: Parameters) -> Estimate:
    """The pure core: what a payment of ``amount`` at ``when`` would add under ``rule_id`` for its
    beneficiary, given the beneficiary's ``results`` of the year (the engine's, best-of applied)."""
    rule = params.rule(rule_id)
    year = local_year(when)
    result = next((r for r in results if r.rule == rule_id and r.year == year), None)
    tally = tally_of(result, rule, year)
    used = rule_amount(tally, params)[2]
    cap, _v = year_cap(rule, year)
    remaining = max(cap - used, ZERO)
    p = Payment(id=HYPOTHETICAL_ID, ref="", kind=kind, payer_id=payer_id, payee_id=payee_id,
                amount=amount if amount is not None else Decimal("0.01"), paid_at=when, listing_kind=listing_kind)
    beneficiary = payer_id if rule.beneficiary == "payer" else payee_id
    fed = [r.id for r, b, _c in candidate_rules(p, params) if b == beneficiary]
    if rule_id not in fed:
        return Estimate(rule_id, year, used, cap, remaining, ZERO, None, ("not_in_base",))
    reasons = exclusion_reasons(p, p, rule, beneficiary, timelines, group_of, params)
    version = rule.version_on(local_date(when))
    rate = version.rate if version is not None else None
    if reasons:
        return Estimate(rule_id, year, used, cap, remaining, ZERO, rate, reasons)
    assert version is not None
    added = None if amount is None else marginal(tally, version.id, amount, params)
    return Estimate(rule_id, year, used, cap, remaining, added, rate)


@dataclass(frozen=True)
class Standing:
    rule: str
    year: int
    base: Decimal
    amount: Decimal
    cap: Decimal
    remaining: Decimal
    capped: bool
    excluded: int


def standing(rule_id: str, year: int, results: Sequence[Result], params: Parameters) -> Standing:
    """A beneficiary's figure under one rule in ``year`` (zero when the year has nothing yet)."""
    result = next((r for r in results if r.rule == rule_id and r.year == year), None)
    cap, _v = year_cap(params.rule(rule_id), year)
    if result is None:
        return Standing(rule_id, year, ZERO, ZERO, cap, cap, False, 0)
    return Standing(rule_id, year, result.base, result.amount, cap, max(cap - result.amount, ZERO), result.capped,
                    len(result.exclusions))


@dataclass(frozen=True)
class SideAnswer:
    """The engine's answer for one side of one entry."""

    side: str  # payer / payee
    org_id: int
    rule: str | None  # the rule it counts under (None: none)
    contribution: Decimal  # what removing the entry would take off that rule's amount this year
    reasons: tuple[tuple[str, tuple[str, ...], str], ...] = ()  # (rule, reason codes, detail) where excluded
    missing: tuple[tuple[str, ...], ...] = ()  # beside each of ``reasons``: the missing evidence types (codes)

    @property
    def counts(self) -> bool:
        return self.rule is not None


def side_answer(side: str, org_id: int, entry_id: int, results: Sequence[Result], params: Parameters) -> SideAnswer:
    """Pure: find the entry in the organisation's results — a line (and its contribution: the rule's
    amount with it minus without it, caps included) or exclusions with reasons."""
    for r in results:
        line = next((ln for ln in r.lines if ln.entry_id == entry_id), None)
        if line is None:
            continue
        rule = params.rule(r.rule)
        without = Tally(rule, r.year)
        for ln in r.lines:
            if ln.entry_id != entry_id:
                without.add(ln.version, ln.amount)
        contribution = r.amount - rule_amount(without, params)[2]
        return SideAnswer(side, org_id, r.rule, contribution)
    found = [(r.rule, e) for r in results for e in r.exclusions if e.entry_id == entry_id]
    return SideAnswer(side, org_id, None, ZERO, tuple((rule, e.reasons, e.detail) for rule, e in found),
                      tuple(e.missing for _rule, e in found))


# ---------------------------------------------------------------- loaders
def _parties(*org_ids: int):
    from market.orgs.services import fact_timelines, group_map

    ids = [i for i in org_ids if i is not None]
    return fact_timelines(ids), group_map(ids)


def for_deal(rule_id: str, *, payer_id: int, payee_id: int, kind: str, listing_kind: str | None,
             amount: Decimal | None, now: dt.datetime | None = None, params: Parameters | None = None) -> Estimate:
    """Load the two parties' facts and the beneficiary's year from the engine, then :func:`estimate`."""
    from . import parameters as parameters_mod
    from .services import results_for

    params = params or parameters_mod.default()
    now = now or dt.datetime.now(dt.UTC)
    beneficiary = payer_id if params.rule(rule_id).beneficiary == "payer" else payee_id
    timelines, groups = _parties(payer_id, payee_id)
    results = results_for(beneficiary, local_year(now), params)
    return estimate(rule_id, payer_id=payer_id, payee_id=payee_id, kind=kind, listing_kind=listing_kind,
                    amount=amount, when=now, results=results, timelines=timelines, group_of=groups, params=params)


def for_listing(org_id: int, listing: Any, amount: Decimal | None, now: dt.datetime | None = None) -> Estimate | None:
    """The estimate on a listing's page for the user's organisation: renting an instrument, facility,
    pilot base or database (art7_renter, the organisation pays) or bidding on a scenario
    (art8_supplier, the organisation is paid)."""
    if org_id is None or listing is None:
        return None
    if listing.kind == "scenario":
        return for_deal("art8_supplier", payer_id=listing.owner_id, payee_id=org_id, kind="scenario_contract",
                        listing_kind="scenario", amount=amount, now=now)
    if listing.kind in ("instrument", "facility", "pilot_base"):
        return for_deal("art7_renter", payer_id=org_id, payee_id=listing.owner_id, kind="rental",
                        listing_kind=listing.kind, amount=amount, now=now)
    if listing.kind in ("database", "public_data"):
        return for_deal("art7_renter", payer_id=org_id, payee_id=listing.owner_id, kind="data_access",
                        listing_kind=listing.kind, amount=amount, now=now)
    return None


def provider_standing(org_id: int, year: int, params: Parameters | None = None) -> Standing:
    from . import parameters as parameters_mod
    from .services import results_for

    params = params or parameters_mod.default()
    return standing("art7_provider", year, results_for(org_id, year, params), params)


def entry_answer(entry: Any, params: Parameters | None = None) -> list[SideAnswer]:
    """The engine's answer for a ledger entry, payer then payee (one side when it pays itself)."""
    from . import parameters as parameters_mod
    from .services import results_for

    params = params or parameters_mod.default()
    year = local_year(entry.paid_at)
    out = []
    for side, org_id in (("payer", entry.payer_id), ("payee", entry.payee_id)):
        if out and org_id == out[0].org_id:
            continue
        out.append(side_answer(side, org_id, entry.id, results_for(org_id, year, params), params))
    return out


__all__ = ["Estimate", "estimate", "standing", "side_answer", "for_deal", "for_listing", "provider_standing",
           "entry_answer", "Standing", "SideAnswer"]
