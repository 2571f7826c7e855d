"""The subsidy rules, table by table from POLICY.md "The rules the platform computes" (pure: no Flask,
no database). Organisations are fact timelines; payments are plain records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.domain.declared import DeclaredSubsidy
from market.domain.orgfacts import OrgFacts, Period, Timeline
from market.subsidies import parameters as params_mod
from market.subsidies.rules import Choice, Payment, compute, compute_plain, plain_entries

P = params_mod.default()
BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
D = Decimal
FULL = ()  # no completeness problems

# organisations: id -> facts (one period since 2020)
SME_A, U, L, SME_B, OUT_SME, UNVERIFIED, LARGE, GROUP_SME, GROUP_LEADER = 1, 2, 3, 4, 5, 6, 7, 8, 9
FACTS = {
    SME_A: OrgFacts("sme", "small", True, True, None),
    U: OrgFacts("university", None, True, True, None),
    L: OrgFacts("leading_firm", "large", True, True, None),
    SME_B: OrgFacts("sme", "micro", True, True, None),
    OUT_SME: OrgFacts("sme", "small", False, True, None),
    UNVERIFIED: OrgFacts("sme", "small", True, False, None),
    LARGE: OrgFacts("sme", "large", True, True, None),
    GROUP_SME: OrgFacts("sme", "small", True, True, 77),
    GROUP_LEADER: OrgFacts("leading_firm", "large", True, True, 77),
}
_ids = itertools.count(1)


def timelines(overrides=None):
    out = {org: Timeline([Period(START, None, f)]) for org, f in FACTS.items()}
    out.update(overrides or {})
    return out


GROUPS = {org: f.group_id for org, f in FACTS.items()}


def pay(payer, payee, amount, when, kind="rental", ref=None, **kw) -> Payment:
    n = next(_ids)
    return Payment(id=n, ref=ref or f"E{n}", kind=kind, payer_id=payer, payee_id=payee, amount=D(amount),
                   paid_at=when, listing_kind=kw.pop("listing_kind", "instrument" if kind == "rental" else None), **kw)


def refund(original: Payment, amount, when, ref=None, **kw) -> Payment:
    return pay(original.payer_id, original.payee_id, -D(amount), when, kind=original.kind, ref=ref,
               reverses=original.id, listing_kind=original.listing_kind, **kw)


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=BJ)


def run(year, payments, tl=None, params=P, declared=()):
    return {(r.beneficiary_id, r.rule): r for r in compute(year, payments, tl or timelines(), GROUPS, params, declared)}


def reasons(result):
    return [(e.ref, e.reason) for e in result.exclusions]


# ---------------------------------------------------------------- the worked example
def test_worked_example():
    em = pay(SME_A, U, "120000", at(2027, 3, 1), ref="EM")
    nmr = pay(SME_A, U, "380000", at(2027, 4, 1), ref="NMR")
    contract = pay(L, SME_A, "2400000", at(2027, 6, 1), kind="scenario_contract", listing_kind="scenario", ref="C")
    out = run(2027, [contract, nmr, em])
    renter = out[(SME_A, "art7_renter")]
    assert (renter.base, renter.uncapped, renter.amount, renter.capped) == (D("500000"), D("250000.00"), D("200000.00"), True)
    assert [ln.ref for ln in renter.lines] == ["EM", "NMR"]
    provider = out[(U, "art7_provider")]
    assert (provider.base, provider.amount, provider.capped) == (D("500000"), D("50000.00"), False)
    supplier = out[(SME_A, "art8_supplier")]
    assert (supplier.amount, supplier.capped, supplier.parameters) == (D("120000.00"), False, "2026-01-01")
    assert set(out) == {(SME_A, "art7_renter"), (U, "art7_provider"), (SME_A, "art8_supplier")}


def test_results_are_ordered_by_beneficiary_then_rule():
    got = compute(2027, [pay(L, SME_A, "100", at(2027, 1, 5), kind="scenario_contract"), pay(SME_A, U, "100", at(2027, 1, 5))],
                  timelines(), GROUPS, P)
    assert [(r.beneficiary_id, r.rule) for r in got] == [(SME_A, "art7_renter"), (SME_A, "art8_supplier"), (U, "art7_provider")]


def test_an_empty_year_is_empty():
    assert compute(2027, [], timelines(), GROUPS, P) == []


# ---------------------------------------------------------------- caps: exactly at, one fen over
@pytest.mark.parametrize(
    ("rule", "payer", "payee", "kind", "base", "amount", "capped"),
    [
        ("art7_renter", SME_A, U, "rental", "400000.00", "200000.00", False),
        ("art7_renter", SME_A, U, "rental", "400000.02", "200000.00", True),  # 200,000.01 → cap
        ("art7_renter", SME_A, U, "rental", "400000.01", "200000.00", True),  # 200,000.005 rounds to 200,000.01: one fen over
        ("art7_provider", SME_A, U, "rental", "100000000.00", "10000000.00", False),
        ("art7_provider", SME_A, U, "rental", "100000000.10", "10000000.00", True),
        ("art8_supplier", L, SME_A, "scenario_contract", "20000000.00", "1000000.00", False),
        ("art8_supplier", L, SME_A, "scenario_contract", "20000000.20", "1000000.00", True),
    ],
)
def test_cap_boundaries(rule, payer, payee, kind, base, amount, capped):
    beneficiary = payer if rule == "art7_renter" else payee
    r = run(2027, [pay(payer, payee, base, at(2027, 5, 1), kind=kind, listing_kind=None)])[(beneficiary, rule)]
    assert (r.amount, r.capped) == (D(amount), capped)
    assert r.uncapped == P.round(D(base) * P.rule(rule).versions[0].rate)  # rounded once, before the cap
    if base == "400000.01":
        assert r.uncapped == D("200000.01")


def test_rounding_is_half_up_once_on_the_year_sum():
    # three renter payments of 0.01: per-payment rounding would give 3 × round(0.005) = 0.03; once: 0.02
    ps = [pay(SME_A, U, "0.01", at(2027, 2, d)) for d in (1, 2, 3)]
    r = run(2027, ps)[(SME_A, "art7_renter")]
    assert (r.base, r.amount) == (D("0.03"), D("0.02"))  # 0.015 → 0.02 half-up


# ---------------------------------------------------------------- refunds
def test_refund_across_a_year_boundary_counts_in_its_own_year_and_never_below_zero():
    p = pay(SME_A, U, "100000", at(2026, 12, 20))
    r = refund(p, "100000", at(2027, 1, 5))
    other = pay(SME_A, U, "60000", at(2027, 2, 1))
    y26 = run(2026, [p])
    assert y26[(SME_A, "art7_renter")].amount == D("50000.00")
    y27 = run(2027, [r, other, p])  # the original is given for eligibility only
    renter = y27[(SME_A, "art7_renter")]
    assert (renter.base, renter.amount) == (D("0.00"), D("0.00"))
    assert [ln.ref for ln in renter.lines] == [r.ref, other.ref]  # payment-date order
    assert y27[(U, "art7_provider")].amount == D("0.00")


def test_a_refund_of_an_excluded_payment_is_excluded_with_the_same_reason():
    p = pay(GROUP_LEADER, GROUP_SME, "500000", at(2027, 3, 1), kind="scenario_contract")
    r = refund(p, "100000", at(2027, 4, 1))
    out = run(2027, [p, r])[(GROUP_SME, "art8_supplier")]
    assert reasons(out) == [(p.ref, "related_party"), (r.ref, "related_party")]
    assert out.amount == 0


def test_a_partial_refund_nets_within_the_year():
    p = pay(SME_A, U, "100000", at(2027, 3, 1))
    out = run(2027, [p, refund(p, "20000", at(2027, 3, 10))])
    assert out[(SME_A, "art7_renter")].base == D("80000")
    assert out[(SME_A, "art7_renter")].amount == D("40000.00")


def test_a_disputed_refund_does_not_net():
    p = pay(SME_A, U, "100000", at(2027, 3, 1))
    r = refund(p, "20000", at(2027, 3, 10), problems=("disputed",))
    out = run(2027, [p, r])[(SME_A, "art7_renter")]
    assert out.amount == D("50000.00") and reasons(out) == [(r.ref, "disputed")]


# ---------------------------------------------------------------- Beijing years
def test_new_year_in_beijing_time_stored_in_utc():
    late = pay(SME_A, U, "1000", dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC), ref="LATE")  # 23:59 Beijing
    early = pay(SME_A, U, "3000", dt.datetime(2026, 12, 31, 16, 10, tzinfo=dt.UTC), ref="EARLY")  # 00:10 on 1 January
    assert [ln.ref for ln in run(2026, [late, early])[(SME_A, "art7_renter")].lines] == ["LATE"]
    assert [ln.ref for ln in run(2027, [late, early])[(SME_A, "art7_renter")].lines] == ["EARLY"]
    assert run(2027, [late, early])[(SME_A, "art7_renter")].amount == D("1500.00")


# ---------------------------------------------------------------- who may benefit
def test_related_parties_and_self_dealing_are_excluded_with_the_reason():
    related = pay(GROUP_LEADER, GROUP_SME, "100000", at(2027, 3, 1), kind="scenario_contract")
    own = pay(SME_A, SME_A, "100000", at(2027, 3, 2))
    out = run(2027, [related, own])
    assert reasons(out[(GROUP_SME, "art8_supplier")]) == [(related.ref, "related_party")]
    assert reasons(out[(SME_A, "art7_renter")]) == [(own.ref, "self_dealing")]
    assert reasons(out[(SME_A, "art7_provider")]) == [(own.ref, "self_dealing")]
    assert all(r.amount == 0 for r in out.values())


@pytest.mark.parametrize(
    ("renter", "reason"),
    [(UNVERIFIED, "not_verified"), (OUT_SME, "out_of_district"), (LARGE, "not_sme")],
)
def test_ineligible_renters_are_excluded_but_the_provider_still_counts(renter, reason):
    p = pay(renter, U, "100000", at(2027, 3, 1))
    out = run(2027, [p])
    assert reasons(out[(renter, "art7_renter")]) == [(p.ref, reason)]
    provider = out[(U, "art7_provider")]
    if reason == "not_sme":  # art7_provider counts only rentals to SME renters
        assert reasons(provider) == [(p.ref, "counterparty_not_sme")]
    else:  # an out-of-district or unverified SME is still an SME renter (renter_anywhere)
        assert provider.amount == D("10000.00")


def test_provider_counts_out_of_district_renters_unless_the_switch_says_otherwise():
    p = pay(OUT_SME, U, "100000", at(2027, 3, 1))
    assert run(2027, [p])[(U, "art7_provider")].amount == D("10000.00")
    strict = revise(P, "art7_provider", eligibility={"renter_anywhere": False})
    assert reasons(run(2027, [p], params=strict)[(U, "art7_provider")]) == [(p.ref, "counterparty_out_of_district")]


def test_art8_supplier_needs_a_leading_firm_payer():
    p = pay(SME_B, SME_A, "100000", at(2027, 3, 1), kind="scenario_contract")
    assert reasons(run(2027, [p])[(SME_A, "art8_supplier")]) == [(p.ref, "counterparty_kind")]


def test_incomplete_entries_are_excluded_with_their_contract_codes():
    ps = [pay(SME_A, U, "100", at(2027, 3, 1), problems=("payee_not_confirmed",)),
          pay(SME_A, U, "100", at(2027, 3, 2), problems=("missing_evidence",), missing_evidence=("invoice",)),
          pay(SME_A, U, "100", at(2027, 3, 3), problems=("disputed",))]
    out = run(2027, ps)[(SME_A, "art7_renter")]
    assert [e.reason for e in out.exclusions] == ["not_confirmed", "missing_evidence", "disputed"]
    assert out.exclusions[0].message == "收款方未确认"
    assert out.exclusions[1].message == "缺少凭证：发票"
    assert out.amount == 0 and out.lines == ()


def test_an_sme_that_became_large_mid_year():
    june = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    tl = timelines({SME_A: Timeline([Period(START, june, FACTS[SME_A]),
                                     Period(june, None, dataclasses.replace(FACTS[SME_A], size="large"))])})
    before = pay(SME_A, U, "100000", at(2027, 5, 31))
    after = pay(SME_A, U, "100000", at(2027, 6, 2))
    out = run(2027, [before, after], tl)
    renter = out[(SME_A, "art7_renter")]
    assert [ln.ref for ln in renter.lines] == [before.ref] and renter.amount == D("50000.00")
    assert reasons(renter) == [(after.ref, "not_sme")]
    assert reasons(out[(U, "art7_provider")]) == [(after.ref, "counterparty_not_sme")]


def test_payments_before_the_effective_date_are_excluded():
    early = pay(SME_A, U, "100000", at(2025, 12, 31, 23, 59))
    assert reasons(run(2025, [early])[(SME_A, "art7_renter")]) == [(early.ref, "before_policy_start")]
    later = revise(P, None, effective_from=dt.date(2027, 3, 1))
    p = pay(SME_A, U, "100000", at(2027, 2, 28))
    assert reasons(run(2027, [p], params=later)[(SME_A, "art7_renter")]) == [(p.ref, "before_policy_start")]


def test_payments_before_an_organisations_first_facts_use_its_first_facts_by_default():
    joined = dt.datetime(2027, 11, 1, tzinfo=dt.UTC)
    tl = timelines({SME_A: Timeline([Period(joined, None, FACTS[SME_A])])})
    p = pay(SME_A, U, "100000", at(2027, 3, 1))
    assert run(2027, [p], tl)[(SME_A, "art7_renter")].amount == D("50000.00")
    strict = dataclasses.replace(P, before_first_facts="exclude")
    assert reasons(run(2027, [p], tl, params=strict)[(SME_A, "art7_renter")]) == [(p.ref, "not_registered")]


# ---------------------------------------------------------------- best-of (closing clause, interpretation 3)
def declared(beneficiary, amount, source="省级创新券"):
    return (DeclaredSubsidy(beneficiary_id=beneficiary, amount_cny=D(amount), source=source),)


def test_best_of_compares_the_marginal_amount_caps_included():
    # 300,000 earlier in the year uses 150,000 of the 200,000 cap; the declared item (200,000 → would
    # add 100,000 uncapped) adds only 50,000 under our rule. Another subsidy of 60,000 is better.
    first = pay(SME_A, U, "300000", at(2027, 6, 1))
    item = pay(SME_A, U, "200000", at(2027, 2, 1), declared=declared(SME_A, "60000"))
    renter = run(2027, [item, first])[(SME_A, "art7_renter")]
    assert [ln.ref for ln in renter.lines] == [first.ref] and renter.amount == D("150000.00")
    assert reasons(renter) == [(item.ref, "other_subsidy_chosen")]
    (choice,) = renter.choices
    assert (choice.winner, choice.ours, choice.other) == ("other", D("50000.00"), D("60000"))
    assert "省级创新券" in choice.why
    # the provider is another beneficiary: its art7_provider is untouched by the renter's declaration
    assert run(2027, [item, first])[(U, "art7_provider")].amount == D("50000.00")


def test_best_of_keeps_our_rule_when_it_adds_more():
    item = pay(SME_A, U, "200000", at(2027, 2, 1), declared=declared(SME_A, "60000"))
    renter = run(2027, [item])[(SME_A, "art7_renter")]
    assert renter.amount == D("100000.00") and renter.choices[0].winner == "art7_renter"


def test_declared_items_are_evaluated_in_payment_date_order_after_the_others():
    a = pay(SME_A, U, "300000", at(2027, 1, 1), declared=declared(SME_A, "120000"))  # marginal 150,000 → ours
    b = pay(SME_A, U, "200000", at(2027, 2, 1), declared=declared(SME_A, "40000"))  # then only 50,000 left → ours
    c = pay(SME_A, U, "100000", at(2027, 3, 1), declared=declared(SME_A, "1"))  # cap reached: marginal 0 → other
    renter = run(2027, [c, b, a])[(SME_A, "art7_renter")]
    assert [ln.ref for ln in renter.lines] == [a.ref, b.ref]
    assert [ch.winner for ch in renter.choices] == ["art7_renter", "art7_renter", "other"]
    assert renter.amount == D("200000.00")


def test_a_refund_follows_the_option_its_payment_took():
    item = pay(SME_A, U, "100000", at(2027, 2, 1), declared=declared(SME_A, "90000"))  # other wins
    r = refund(item, "50000", at(2027, 3, 1))
    renter = run(2027, [item, r])[(SME_A, "art7_renter")]
    assert renter.lines == () and [e.reason for e in renter.exclusions] == ["other_subsidy_chosen"] * 2


def test_an_organisation_level_declaration_covers_the_rules_year():
    p = pay(SME_A, U, "100000", at(2027, 2, 1))
    decl = [DeclaredSubsidy(beneficiary_id=SME_A, amount_cny=D("60000"), source="市级补贴", year=2027, rule="art7_renter")]
    renter = run(2027, [p], declared=decl)[(SME_A, "art7_renter")]
    assert renter.amount == 0 and reasons(renter) == [(p.ref, "other_subsidy_chosen")]
    decl_small = [dataclasses.replace(decl[0], amount_cny=D("10000"))]
    assert run(2027, [p], declared=decl_small)[(SME_A, "art7_renter")].amount == D("50000.00")


# ---------------------------------------------------------------- parameter revisions
def revise(params, rule_id, *, effective_from=None, **changes):
    """A copy of ``params`` with the policy start moved, or one rule's version fields changed."""
    if rule_id is None:
        return dataclasses.replace(params, effective_from=effective_from)
    rule = params.rules[rule_id]
    v = rule.versions[-1]
    if "eligibility" in changes:
        changes["eligibility"] = dataclasses.replace(v.eligibility, **changes["eligibility"])
    return dataclasses.replace(params, rules={**params.rules, rule_id: dataclasses.replace(rule, versions=(dataclasses.replace(v, **changes),))})


REVISED = params_mod.parse(params_mod.DATA_FILE.read_text(encoding="utf-8").replace(
    """      - effective_from: 2026-01-01
        rate: "0.50"
        cap_cny: "200000.00\"""",
    """      - effective_from: 2027-07-01
        rate: "0.40"
        cap_cny: "300000.00"
        period: year
        base:
          - entry_kind: rental
            listing_kinds: [instrument, facility, pilot_base, database, unlisted]
        eligibility:
          verified_required: true
          in_district_required: true
          sme_required: true
      - effective_from: 2026-01-01
        rate: "0.50"
        cap_cny: "200000.00\""""))


def test_a_revision_mid_year_rates_each_payment_by_its_date_and_caps_at_year_end():
    rule = REVISED.rule("art7_renter")
    assert [(v.id, v.effective_to) for v in rule.versions] == [("2026-01-01", dt.date(2027, 7, 1)), ("2027-07-01", None)]
    h1 = pay(SME_A, U, "400000", at(2027, 6, 30, 23, 0))  # 50% → 200,000
    h2 = pay(SME_A, U, "200000", at(2027, 7, 1, 0, 30))  # 40% → 80,000 (Beijing date 1 July)
    renter = run(2027, [h1, h2], params=REVISED)[(SME_A, "art7_renter")]
    assert [ln.version for ln in renter.lines] == ["2026-01-01", "2027-07-01"]
    assert (renter.uncapped, renter.cap, renter.amount, renter.capped) == (D("280000.00"), D("300000.00"), D("280000.00"), False)
    assert renter.parameters == "2026-01-01,2027-07-01"
    # the year before keeps the old values
    old = run(2026, [pay(SME_A, U, "500000", at(2026, 8, 1))], params=REVISED)[(SME_A, "art7_renter")]
    assert (old.amount, old.parameters) == (D("200000.00"), "2026-01-01")


# ---------------------------------------------------------------- properties
ORGS = list(FACTS)
amounts = st.decimals(min_value=D("0.01"), max_value=D("30000000"), places=2)
moments = st.datetimes(min_value=dt.datetime(2026, 12, 25), max_value=dt.datetime(2028, 1, 5)).map(lambda m: m.replace(tzinfo=dt.UTC))


@st.composite
def worlds(draw):
    n = draw(st.integers(min_value=0, max_value=12))
    out = []
    for i in range(n):
        payer, payee = draw(st.sampled_from(ORGS)), draw(st.sampled_from(ORGS))
        kind = draw(st.sampled_from(["rental", "scenario_contract", "data_access"]))
        listing = {"rental": "instrument", "scenario_contract": "scenario", "data_access": "database"}[kind]
        problems = draw(st.sampled_from([(), (), (), ("disputed",)]))
        decl = draw(st.sampled_from([(), (), declared(payer, "5000"), declared(payee, "300000")]))
        p = Payment(i + 1, f"P{i:03d}", kind, payer, payee, draw(amounts), draw(moments), listing, None, problems, decl)
        out.append(p)
        if draw(st.booleans()) and i % 3 == 0:
            back = min(p.amount, draw(amounts))
            out.append(Payment(1000 + i, f"R{i:03d}", kind, payer, payee, -back,
                               p.paid_at + dt.timedelta(days=draw(st.integers(0, 30))), listing, p.id))
    return out


def summary(results):
    return {(r.beneficiary_id, r.rule): r.amount for r in results}


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_amounts_are_never_negative_nor_above_the_cap(payments):
    for r in compute(2027, payments, timelines(), GROUPS, P):
        assert D(0) <= r.amount <= r.cap and r.base >= 0


@settings(max_examples=150, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_input_order(payments, rnd):
    shuffled = list(payments)
    rnd.shuffle(shuffled)
    assert compute(2027, shuffled, timelines(), GROUPS, P) == compute(2027, payments, timelines(), GROUPS, P)


@settings(max_examples=150, deadline=None)
@given(worlds(), amounts, moments)
def test_adding_a_complete_payment_never_lowers_the_payers_renter_amount(payments, amount, when):
    before = summary(compute(2027, payments, timelines(), GROUPS, P)).get((SME_A, "art7_renter"), D(0))
    extra = Payment(9999, "X", "rental", SME_A, U, amount, when, "instrument")
    after = summary(compute(2027, [*payments, extra], timelines(), GROUPS, P)).get((SME_A, "art7_renter"), D(0))
    assert after >= before


@settings(max_examples=150, deadline=None)
@given(worlds(), amounts, st.integers(0, 5), st.sampled_from(ORGS), st.sampled_from(ORGS))
def test_a_payment_and_its_full_refund_leave_every_amount_unchanged(payments, amount, days, payer, payee):
    when = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    p = Payment(9998, "Y", "rental", payer, payee, amount, when, "instrument")
    r = Payment(9999, "Y-refund", "rental", payer, payee, -amount, when + dt.timedelta(days=days), "instrument", p.id)
    before = summary(compute(2027, payments, timelines(), GROUPS, P))
    after = summary(compute(2027, [*payments, p, r], timelines(), GROUPS, P))
    for key in before.keys() | after.keys():  # a new line for the pair may appear, with nothing in it
        assert after.get(key, D(0)) == before.get(key, D(0))


def test_before_registration_the_facts_settled_on_the_first_day_decide():
    # registered at 10:00 with no group, put into the group at 10:01 the same Beijing day
    joined = at(2027, 11, 1, 10, 0)
    grouped = dataclasses.replace(FACTS[GROUP_SME], group_id=77)
    tl = timelines({GROUP_SME: Timeline([Period(joined, joined + dt.timedelta(minutes=1), dataclasses.replace(grouped, group_id=None)),
                                         Period(joined + dt.timedelta(minutes=1), None, grouped)])})
    p = pay(GROUP_LEADER, GROUP_SME, "100000", at(2027, 3, 1), kind="scenario_contract")
    assert reasons(run(2027, [p], tl)[(GROUP_SME, "art8_supplier")]) == [(p.ref, "related_party")]


def test_database_access_is_an_art7_rental_and_public_data_feeds_no_computed_rule():
    db_access = pay(SME_A, U, "10000", at(2027, 3, 1), kind="data_access", listing_kind="database")
    public = pay(SME_A, U, "10000", at(2027, 3, 2), kind="data_access", listing_kind="public_data")  # art. 13: a decision
    out = run(2027, [db_access, public])
    assert [ln.ref for ln in out[(SME_A, "art7_renter")].lines] == [db_access.ref]
    assert [ln.ref for ln in out[(U, "art7_provider")].lines] == [db_access.ref]
    assert set(out) == {(SME_A, "art7_renter"), (U, "art7_provider")}


# ---------------------------------------------------------------- the plain path equals the general one
PROBLEMS = [(), (), (), (), (), (), ("disputed",), ("payer_not_confirmed", "payee_not_confirmed"),
            ("missing_evidence",), ("payee_not_confirmed", "missing_evidence")]
JUNE = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
CHANGED = {  # facts that change mid-year: an SME grows large, a university leaves the district, a group forms
    SME_A: Timeline([Period(START, JUNE, FACTS[SME_A]), Period(JUNE, None, dataclasses.replace(FACTS[SME_A], size="large"))]),
    U: Timeline([Period(START, JUNE, FACTS[U]), Period(JUNE, None, dataclasses.replace(FACTS[U], in_district=False))]),
    SME_B: Timeline([Period(dt.datetime(2027, 3, 1, tzinfo=dt.UTC), None, dataclasses.replace(FACTS[SME_B], group_id=77))]),
}


@st.composite
def rich_worlds(draw):
    """Payments of 2026–2028 with every completeness problem, listings that feed no rule, refunds of
    other years' payments, and some declared other subsidies (which make a beneficiary's year not plain)."""
    n = draw(st.integers(min_value=0, max_value=14))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(["rental", "scenario_contract", "data_access"]))
        if draw(st.booleans()):  # a deal that may well count
            payer, payee = draw(st.sampled_from([(L, SME_A), (L, SME_B), (GROUP_LEADER, SME_B)] if kind == "scenario_contract"
                                                else [(SME_A, U), (SME_B, U), (SME_A, L), (SME_B, L)]))
        else:
            payer, payee = draw(st.sampled_from(ORGS)), draw(st.sampled_from(ORGS))
        listing = draw(st.sampled_from({"rental": ["instrument", None, "scenario"], "scenario_contract": ["scenario", None],
                                        "data_access": ["database", "public_data"]}[kind]))
        problems = draw(st.sampled_from(PROBLEMS))
        missing = ("invoice",) if "missing_evidence" in problems else ()
        decl = draw(st.sampled_from([(), (), (), (), declared(payer, "5000"), declared(payee, "300000")]))
        when = draw(st.datetimes(min_value=dt.datetime(2025, 12, 20), max_value=dt.datetime(2028, 1, 5))).replace(tzinfo=dt.UTC)
        p = Payment(i + 1, f"P{i:03d}", kind, payer, payee, draw(amounts), when, listing, None, problems, decl, missing)
        out.append(p)
        if draw(st.booleans()):
            back = min(p.amount, draw(amounts))
            out.append(Payment(1000 + i, f"R{i:03d}", kind, payer, payee, -back,
                               p.paid_at + dt.timedelta(days=draw(st.integers(0, 400))), listing, p.id,
                               draw(st.sampled_from([(), (), ("disputed",)]))))
    return out


@settings(max_examples=300, deadline=None)
@given(rich_worlds(), st.sampled_from([P, REVISED]), st.booleans(), st.sampled_from([(), declared(SME_A, "1000")]))
def test_the_plain_path_gives_the_general_paths_results(payments, params, changed, org_level):
    tl = timelines(CHANGED if changed else None)
    org_level = tuple(dataclasses.replace(d, rule="art7_renter", year=2027) for d in org_level)
    for year in (2026, 2027):
        for ben in ORGS:
            entries = plain_entries(year, payments, ben)
            general = compute(year, payments, tl, GROUPS, params, org_level, beneficiaries={ben})
            if entries is None:
                continue
            plain = compute_plain(year, ben, entries, tl, GROUPS, params, org_level)
            if plain is None:  # an organisation-level declaration for one of its rules
                assert ben == SME_A and org_level
                continue
            assert plain == general


def test_the_plain_path_declines_what_needs_best_of():
    decl = pay(SME_A, U, "1000", at(2027, 3, 1), declared=declared(SME_A, "100"))
    assert plain_entries(2027, [decl], SME_A) is None  # an other subsidy declared for the item
    assert plain_entries(2027, [decl], U) is not None  # ... for the renter, not for the provider
    own = pay(SME_A, SME_A, "1000", at(2027, 3, 1))
    assert plain_entries(2027, [own], SME_A) is None  # on both sides
    ok = pay(SME_A, U, "1000", at(2027, 3, 1))
    entries = plain_entries(2027, [ok], SME_A)
    assert compute_plain(2027, SME_A, entries, timelines(), GROUPS, P) == compute(2027, [ok], timelines(), GROUPS, P, beneficiaries={SME_A})
    org = DeclaredSubsidy(beneficiary_id=SME_A, amount_cny=D("10"), source="x", year=2027, rule="art7_renter")
    assert compute_plain(2027, SME_A, entries, timelines(), GROUPS, P, [org]) is None
    both = params_mod.parse(params_mod.DATA_FILE.read_text(encoding="utf-8").replace(
        "          - entry_kind: scenario_contract\n            listing_kinds: [scenario, unlisted]",
        "          - entry_kind: rental\n            listing_kinds: [instrument]"))
    assert compute_plain(2027, U, plain_entries(2027, [ok], U), timelines(), GROUPS, both) is None  # two rules for one side


def test_a_rule_result_is_the_result_its_fields_make():
    """``rules.rule_result`` fills a :class:`Result` without its generated ``__init__`` (a year makes tens of
    thousands): every field is set, to what the dataclass would hold, and the instance stays frozen; its amounts
    are the rate times the base, rounded, capped — for one version and for two."""
    from market.subsidies import rules

    params = params_mod.default()
    rule = params.rule("art7_renter")
    (version,) = rule.versions
    at = dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)
    line = rules.Line(1, "R1", Decimal("1000.05"), at, version.id)
    excluded = rules.Exclusion(2, "R2", Decimal("5.00"), at, ("not_sme",))
    tally = rules.Tally(rule, 2026).add(version.id, Decimal("1000.05"))
    amounts = rules.rule_amount(tally, params)
    uncapped = params.round(version.rate * Decimal("1000.05"))
    assert amounts == (Decimal("1000.05"), uncapped, min(uncapped, version.cap_cny), uncapped > version.cap_cny)
    got = rules.rule_result(7, rule, 2026, amounts, [line], [excluded])
    cap, cap_version = rules.year_cap(rule, 2026)
    expected = rules.Result(beneficiary_id=7, rule=rule.id, year=2026, base=amounts[0], amount=amounts[2],
                            uncapped=amounts[1], cap=cap, capped=amounts[3], rates=((version.id, version.rate),),
                            versions=(cap_version,), article=rule.article, lines=(line,), exclusions=(excluded,),
                            choices=())
    assert got == expected and repr(got) == repr(rules.Result(**{**vars(expected), "lines": got.lines,
                                                                  "exclusions": got.exclusions}))
    assert set(vars(got)) == {f.name for f in dataclasses.fields(rules.Result)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.amount = Decimal("1")  # type: ignore[misc]
    # two versions: each rated by its own (the general sum), and the results' version tuples per set of versions
    two = rules.Tally(rule, 2026).add(version.id, Decimal("10.00")).add("later", Decimal("-20.00"))
    assert rules.rule_amount(two, params) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), False)
    assert rules.rule_result(7, rule, 2026, amounts, [], []).rates == () == rules.rule_result(
        8, rule, 2026, amounts, [], []).rates


@pytest.mark.parametrize(("ref", "winner", "ours", "other", "source", "kind", "words"), [
    # the sentences the engine wrote before its choices had codes: a snapshot's "why" keeps them to the character
    ("R1", "art7_renter", "50000", "0", "art8_supplier", "rules",
     "art7_renter 边际金额 ¥50,000.00 最高（同一交易不重复执行）"),
    ("R1", "art7_renter", "50000", "8000", "省级创新券", "ours",
     "本条款边际金额 ¥50,000.00 高于其他补贴 ¥8,000.00（省级创新券），按本条款执行"),
    ("R1", "other", "50000", "50000", "省级创新券", "other",
     "其他补贴 ¥50,000.00（省级创新券）不低于本条款边际金额 ¥50,000.00，按其他补贴执行"),
    ("", "art7_renter", "1234.5", "1000", "市级券", "year_ours",
     "本条款全年金额 ¥1,234.50 高于其他补贴 ¥1,000.00（市级券），按本条款执行"),
    ("", "other", "900", "1000", "市级券", "year_other",
     "其他补贴 ¥1,000.00（市级券）不低于本条款全年金额 ¥900.00，按其他补贴执行"),
])
def test_a_choice_is_told_by_its_kind_and_amounts(ref, winner, ours, other, source, kind, words):
    choice = Choice(1 if ref else 0, ref, winner, D(ours), D(other), source)
    assert (choice.kind, choice.why) == (kind, words)
