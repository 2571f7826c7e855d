"""The estimate shown before booking or bidding, and the engine's answer per side of an entry: pure,
from the same rule functions as the engine (no second copy of rates or caps)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from market.domain.orgfacts import OrgFacts, Period, Timeline
from market.subsidies import parameters as params_mod
from market.subsidies.estimates import estimate, side_answer, standing
from market.subsidies.rules import Payment, compute

P = params_mod.default()
START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
WHEN = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)
D = Decimal
SME, U, L, OUT, GSME, GLEAD, UNVER = 1, 2, 3, 4, 5, 6, 7
FACTS = {
    SME: OrgFacts("sme", "small", True, True, None),
    U: OrgFacts("university", None, True, True, None),
    L: OrgFacts("leading_firm", "large", True, True, None),
    OUT: OrgFacts("sme", "small", False, True, None),
    GSME: OrgFacts("sme", "small", True, True, 9),
    GLEAD: OrgFacts("leading_firm", "large", True, True, 9),
    UNVER: OrgFacts("sme", "small", True, False, None),
}
TL = {k: Timeline([Period(START, None, f)]) for k, f in FACTS.items()}
GROUPS = {k: f.group_id for k, f in FACTS.items()}


def rental(pid, payer, payee, amount, when=WHEN):
    return Payment(pid, f"R{pid}", "rental", payer, payee, D(amount), when, "instrument")


def results_of(beneficiary, payments):
    return [r for r in compute(2026, payments, TL, GROUPS, P) if r.beneficiary_id == beneficiary]


def rent(payer, amount, results=(), payee=U):
    return estimate("art7_renter", payer_id=payer, payee_id=payee, kind="rental", listing_kind="instrument",
                    amount=None if amount is None else D(amount), when=WHEN, results=results,
                    timelines=TL, group_of=GROUPS, params=P)


def test_a_first_rental_earns_half_and_the_room_is_the_cap():
    e = rent(SME, "3600.00")
    assert (e.eligible, e.amount, e.remaining, e.used, e.rate) == (True, D("1800.00"), D("200000.00"), D("0.00"), D("0.50"))


def test_what_was_used_this_year_lowers_the_room_and_the_cap_bites_at_the_margin():
    used = results_of(SME, [rental(1, SME, U, "399000.00", WHEN - dt.timedelta(days=30))])  # 199,500 used
    e = rent(SME, "3600.00", used)
    assert (e.used, e.remaining, e.amount) == (D("199500.00"), D("500.00"), D("500.00"))  # not 1,800: capped
    full = results_of(SME, [rental(1, SME, U, "400000.00", WHEN - dt.timedelta(days=30))])
    e = rent(SME, "3600.00", full)
    assert (e.remaining, e.amount, e.eligible) == (D("0.00"), D("0.00"), True)


def test_unknown_amount_gives_rate_and_room_only():
    e = rent(SME, None)
    assert e.eligible and e.amount is None and e.remaining == D("200000.00")


def test_reasons_are_the_engines():
    assert rent(OUT, "100.00").reasons == ("out_of_district",)
    assert rent(UNVER, "100.00").reasons == ("not_verified",)
    assert rent(U, "100.00", payee=U).reasons == ("self_dealing",)
    assert rent(L, "100.00").reasons[0] == "not_sme"
    bid = estimate("art8_supplier", payer_id=GLEAD, payee_id=GSME, kind="scenario_contract", listing_kind="scenario",
                   amount=D("100000.00"), when=WHEN, results=[], timelines=TL, group_of=GROUPS, params=P)
    assert bid.reasons == ("related_party",) and bid.amount == D("0.00")
    ok = estimate("art8_supplier", payer_id=L, payee_id=SME, kind="scenario_contract", listing_kind="scenario",
                  amount=D("2400000.00"), when=WHEN, results=[], timelines=TL, group_of=GROUPS, params=P)
    assert (ok.amount, ok.rate, ok.remaining) == (D("120000.00"), D("0.05"), D("1000000.00"))
    before = estimate("art7_renter", payer_id=SME, payee_id=U, kind="rental", listing_kind="instrument",
                      amount=D("100.00"), when=dt.datetime(2025, 6, 1, tzinfo=dt.UTC), results=[], timelines=TL,
                      group_of=GROUPS, params=P)
    assert before.reasons == ("before_policy_start",)


def test_a_deal_no_rule_reads():
    e = estimate("art7_renter", payer_id=SME, payee_id=U, kind="data_access", listing_kind="public_data",
                 amount=D("100.00"), when=WHEN, results=[], timelines=TL, group_of=GROUPS, params=P)
    assert e.reasons == ("not_in_base",) and e.reason_words == ["该交易不属于本条款的计算范围"]


def test_provider_standing_and_side_answers():
    payments = [rental(1, SME, U, "120000.00"), rental(2, SME, U, "380000.00"), rental(3, OUT, U, "50000.00"),
                rental(4, GSME, U, "10000.00")]
    u_results = results_of(U, payments)
    s = standing("art7_provider", 2026, u_results, P)
    # OUT is an SME renter registered elsewhere: art. 7 counts it for the provider (renter_anywhere)
    assert (s.base, s.amount, s.cap, s.remaining, s.excluded) == (D("560000.00"), D("56000.00"), D("10000000.00"),
                                                                  D("9944000.00"), 0)
    assert side_answer("payee", U, 2, u_results, P).contribution == D("38000.00")
    sme = side_answer("payer", SME, 2, results_of(SME, payments), P)
    assert sme.rule == "art7_renter" and sme.contribution == D("140000.00")  # 200,000 (capped) - 60,000 without it
    out = side_answer("payer", OUT, 3, results_of(OUT, payments), P)
    assert out.rule is None and out.reasons == (("art7_renter", ("out_of_district",), ""),)
    empty = standing("art7_provider", 2027, u_results, P)
    assert (empty.amount, empty.remaining) == (D("0.00"), D("10000000.00"))

amounts = st.decimals(min_value=D("0.01"), max_value=D("600000"), places=2)


@settings(max_examples=60, deadline=None)
@given(earlier=st.lists(amounts, max_size=6), new=amounts, renter=st.sampled_from([SME, OUT, UNVER, L]))
def test_the_estimate_is_what_the_engine_adds_once_the_deal_is_paid(earlier, new, renter):
    """The estimate before the deal equals the engine's amount after it minus before it."""
    before = [rental(i + 1, renter, U, a, WHEN - dt.timedelta(days=i + 1)) for i, a in enumerate(earlier)]
    after = [*before, rental(99, renter, U, new, WHEN)]

    def amount(payments):
        found = [r for r in results_of(renter, payments) if r.rule == "art7_renter"]
        return found[0].amount if found else D("0.00")

    e = rent(renter, str(new), results_of(renter, before))
    assert e.amount == amount(after) - amount(before)
    assert e.eligible == (renter == SME)
    assert D("0.00") <= e.amount <= e.remaining <= D("200000.00")
