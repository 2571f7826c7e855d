"""The district's subsidy budget view (issue 10): per year and rule, the totals computed by the engine,
claimed, approved, publicly noticed and paid; each beneficiary's distance to its cap; a chart per month.

Read-only. "Approved" counts every claim a reviewer approved that is still standing (approved, in
notice, noticed, finalised, paid); "noticed" those that passed their notice (noticed, finalised,
paid); "claimed" every live claim (not rejected, not withdrawn), at its computed amount. The rewards
an admin decides (art. 8 opener, art. 9 tiers, art. 13 awards) are listed apart, by the Beijing year
of their decision: they are not computed from the ledger and go through no claim.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from market.domain.localtime import local_date, local_year
from market.extensions import db
from models.claims import AwardPayment, ClaimStatus, SubsidyClaim
from models.organisations import Organisation

from . import rewards, services
from .parameters import LEDGER_RULES

ZERO = Decimal("0.00")
APPROVED = (ClaimStatus.APPROVED, ClaimStatus.IN_NOTICE, ClaimStatus.NOTICED, ClaimStatus.FINALISED, ClaimStatus.PAID)
NOTICED = (ClaimStatus.NOTICED, ClaimStatus.FINALISED, ClaimStatus.PAID)
LIVE = (ClaimStatus.FILED, *APPROVED)


@dataclass
class RuleTotals:
    rule: str
    computed: Decimal = ZERO
    claimed: Decimal = ZERO
    approved: Decimal = ZERO
    noticed: Decimal = ZERO
    paid: Decimal = ZERO
    beneficiaries: int = 0


@dataclass
class Headroom:
    beneficiary_id: int
    ref: str
    name: str
    rule: str
    amount: Decimal
    cap: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.cap - self.amount, ZERO)


@dataclass
class Budget:
    year: int
    rules: list[RuleTotals]
    headroom: list[Headroom]
    months: list[str] = field(default_factory=list)
    monthly: dict[str, list[Decimal]] = field(default_factory=dict)  # series name -> 12 amounts
    decided: dict[str, Decimal] = field(default_factory=dict)  # admin-decided rule -> total decided in the year

    @property
    def total(self) -> RuleTotals:
        t = RuleTotals("total")
        for r in self.rules:
            for name in ("computed", "claimed", "approved", "noticed", "paid", "beneficiaries"):
                setattr(t, name, getattr(t, name) + getattr(r, name))
        return t


def budget(year: int) -> Budget:
    totals = {r: RuleTotals(r) for r in LEDGER_RULES}
    refs = services.org_refs()
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    headroom = []
    for result in services.iter_year(year):
        t = totals[result.rule]
        t.computed += result.amount
        if result.amount > 0:
            t.beneficiaries += 1
            headroom.append(Headroom(result.beneficiary_id, refs.get(result.beneficiary_id, "?"),
                                     names.get(result.beneficiary_id, ""), result.rule,
                                     result.amount, result.cap))
    headroom.sort(key=lambda h: (h.left, h.ref, h.rule))

    claims = list(db.session.execute(select(SubsidyClaim).where(SubsidyClaim.year == year)).scalars())
    paid_by_claim: dict[int, Decimal] = defaultdict(lambda: ZERO)
    payments = db.session.execute(select(AwardPayment).join(SubsidyClaim).where(SubsidyClaim.year == year)).scalars()
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    monthly = {"claimed": [ZERO] * 12, "approved": [ZERO] * 12, "paid": [ZERO] * 12}

    def month_of(moment) -> int | None:
        return local_date(moment).month - 1 if local_year(moment) == year else None

    for p in payments:
        paid_by_claim[p.claim_id] += p.amount_cny
        if p.paid_on.year == year:
            monthly["paid"][p.paid_on.month - 1] += p.amount_cny
    for c in claims:
        if c.rule not in totals:
            continue
        t = totals[c.rule]
        if c.status in LIVE:
            t.claimed += c.computed_cny
            m = month_of(c.filed_at)
            if m is not None:
                monthly["claimed"][m] += c.computed_cny
        if c.status in APPROVED and c.approved_cny is not None:
            t.approved += c.approved_cny
            m = month_of(c.decided_at) if c.decided_at else None
            if m is not None:
                monthly["approved"][m] += c.approved_cny
        if c.status in NOTICED and c.approved_cny is not None:
            t.noticed += c.approved_cny
        t.paid += paid_by_claim[c.id]
    return Budget(year, [totals[r] for r in LEDGER_RULES], headroom, months, monthly, rewards.decided_totals(year))
