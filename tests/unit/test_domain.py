"""The pure domain modules: Beijing-time years, parties, ledger completeness codes, refund rules —
and that they (and matching/) load without Flask or a database."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace

import pytest

from market.domain import completeness, localtime, parties, refunds
from market.domain.completeness import EntryFacts, Finding, Reason

PURE_MODULES = [
    "market.domain.localtime",
    "market.domain.parties",
    "market.domain.completeness",
    "market.domain.refunds",
    "market.domain.sme",
    "market.domain.orgfacts",
    "market.domain.declared",
    "market.subsidies",
    "market.subsidies.parameters",
    "market.subsidies.rules",
    "matching",
]


def test_pure_modules_import_no_flask_and_no_database():
    code = (
        "import importlib, sys\n"
        f"for name in {PURE_MODULES!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'flask_babel', 'sqlalchemy', 'werkzeug'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------- Beijing time (POLICY.md interpretation 5)
UTC = dt.UTC


@pytest.mark.parametrize(
    ("moment", "year"),
    [
        (dt.datetime(2026, 12, 31, 15, 59, tzinfo=UTC), 2026),  # 23:59 on 31 December in Beijing
        (dt.datetime(2026, 12, 31, 16, 10, tzinfo=UTC), 2027),  # 00:10 on 1 January in Beijing
        (dt.datetime(2027, 1, 1, 0, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))), 2027),
    ],
)
def test_local_year_is_the_beijing_calendar_year(moment, year):
    assert localtime.local_year(moment) == year


def test_year_bounds_are_beijing_midnights_in_utc():
    start, end = localtime.year_bounds(2027)
    assert start == dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert end == dt.datetime(2027, 12, 31, 16, 0, tzinfo=UTC)


def test_naive_times_are_refused_where_a_year_is_asked():
    with pytest.raises(ValueError):
        localtime.local_year(dt.datetime(2026, 1, 1))


def test_localize_reads_typed_times_as_beijing():
    assert localtime.localize(dt.datetime(2026, 3, 1, 10)).astimezone(UTC).hour == 2


# ---------------------------------------------------------------- parties (interpretation 4)
def test_sides_of_a_deal():
    deal = SimpleNamespace(payer_id=1, payee_id=2)
    assert parties.sides(1, deal) == (parties.Side.PAYER,)
    assert parties.sides(2, deal) == (parties.Side.PAYEE,)
    assert parties.sides(3, deal) == ()
    assert parties.sides(None, deal) == ()
    assert parties.sides(1, SimpleNamespace(payer_id=1, payee_id=1)) == (parties.Side.PAYER, parties.Side.PAYEE)
    assert parties.other_party(1, deal) == 2 and parties.other_party(2, deal) == 1


@pytest.mark.parametrize(
    ("a", "b", "groups", "expected"),
    [
        (1, 1, {}, parties.Relation.SELF_DEALING),
        (1, 2, {1: 7, 2: 7}, parties.Relation.RELATED_PARTY),
        (1, 2, {1: 7, 2: 8}, None),
        (1, 2, {1: None, 2: None}, None),  # no group is not one group
        (1, 2, {}, None),
    ],
)
def test_relation(a, b, groups, expected):
    assert parties.relation(a, b, groups) == expected


# ---------------------------------------------------------------- completeness (interpretation 1)
FULL = frozenset(completeness.REQUIRED_EVIDENCE)


def facts(**kw):
    base = {"payer_confirmed": True, "payee_confirmed": True, "in_dispute": False, "evidence_types": FULL}
    return EntryFacts(**{**base, **kw})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (facts(), ()),
        (facts(payer_confirmed=False), (Finding(Reason.PAYER_NOT_CONFIRMED),)),
        (facts(payee_confirmed=False, in_dispute=True), (Finding(Reason.PAYEE_NOT_CONFIRMED), Finding(Reason.DISPUTED))),
        (facts(evidence_types=frozenset({"contract"})), (Finding(Reason.MISSING_EVIDENCE, ("invoice", "payment_record")),)),
        (facts(evidence_types=FULL | {"other"}), ()),
        # a refund counts when undisputed and its original is complete, whatever its own confirmations
        (facts(is_refund=True, payee_confirmed=False, evidence_types=frozenset(), reverses=facts()), ()),
        (facts(is_refund=True, reverses=facts(payer_confirmed=False)), (Finding(Reason.REVERSED_ENTRY_INCOMPLETE),)),
        (facts(is_refund=True, in_dispute=True, reverses=facts()), (Finding(Reason.DISPUTED),)),
    ],
)
def test_completeness_findings(entry, expected):
    assert completeness.findings(entry) == expected
    assert completeness.is_complete(entry) == (expected == ())


def test_reason_codes_map_to_the_contract_codes():
    assert Reason.PAYER_NOT_CONFIRMED.contract_code == Reason.PAYEE_NOT_CONFIRMED.contract_code == "not_confirmed"
    assert Reason.MISSING_EVIDENCE.contract_code == "missing_evidence"
    assert Reason.DISPUTED.contract_code == "disputed"


# ---------------------------------------------------------------- refunds (interpretation 1)
PAID = dt.datetime(2026, 5, 1, tzinfo=UTC)
ORIGINAL = refunds.Original(kind="rental", payer_id=1, payee_id=2, paid_at=PAID, remaining=Decimal("1000.00"))
P = refunds.RefundProblem


@pytest.mark.parametrize(
    ("original", "amount", "paid_at", "stated", "expected"),
    [
        (ORIGINAL, Decimal("1000.00"), PAID, {}, ()),
        (ORIGINAL, Decimal("1000.01"), PAID, {}, (P.EXCEEDS_REMAINING,)),
        (ORIGINAL, Decimal("10"), PAID - dt.timedelta(seconds=1), {}, (P.BEFORE_ORIGINAL,)),
        (ORIGINAL, Decimal("10"), PAID, {"kind": "rental", "payer_id": 1, "payee_id": 2}, ()),
        (ORIGINAL, Decimal("10"), PAID, {"kind": "rental", "payer_id": 2, "payee_id": 1}, (P.PARTIES_DIFFER,)),
        (refunds.Original("rental", 1, 2, PAID, Decimal("5"), is_refund=True), Decimal("1"), PAID, {}, (P.REFUND_OF_REFUND,)),
    ],
)
def test_refund_problems(original, amount, paid_at, stated, expected):
    assert refunds.refund_problems(original, amount, paid_at, **stated) == expected
