"""Demo claims (issue 10): the 2026 world in several states — U1's provider subsidy finalised with a
first payment, S2's supplier subsidy in an open notice with an objection, S2's renter subsidy waiting
for review. S1's renter subsidy is left for a visitor to file. Idempotent: nothing is added twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from market.domain.localtime import today
from market.extensions import db
from models.claims import SubsidyClaim

from . import claims as svc

YEAR = 2026


def load(world) -> None:
    if db.session.execute(select(func.count(SubsidyClaim.id))).scalar_one():
        return
    users = world.users
    reviewer, admin = users.get("reviewer@ccxq.gov.cn"), users.get("admin@ccxq.gov.cn")
    u1, s2, s3 = users.get("lab@jlxq-univ.edu.cn"), users.get("ceo@weina-mat.cn"), users.get("ceo@beidou-st.cn")
    if None in (reviewer, admin, u1, s2, s3):
        return
    now = dt.datetime.now(dt.UTC)
    if YEAR not in svc.claim_years(now):
        return  # the demo ledger's year can no longer be claimed
    earlier = now - dt.timedelta(days=12)

    # U1: filed, approved, noticed (a notice that has ended), finalised, first payment
    provider = svc.file_claim(u1, u1.organisation, YEAR, "art7_provider", now=earlier)
    svc.decide(reviewer, provider, "approve", now=earlier)
    first = svc.open_notice(reviewer, YEAR, now=earlier)
    svc.close_due_notices("demo", now=first.ends_at)
    svc.finalise(admin, YEAR, now=first.ends_at + dt.timedelta(hours=1))
    svc.record_payment(admin, provider, provider.approved_cny / 2, today(now), "ZF-2026-0001", now=now)

    # S2: the supplier subsidy in an open notice, with an objection waiting for the reviewer
    supplier = svc.file_claim(s2, s2.organisation, YEAR, "art8_supplier",
                              [{"source": "省级科技型中小企业专项", "amount_cny": "20000.00", "item": "场景项目"}],
                              now=now - dt.timedelta(days=3))
    svc.decide(reviewer, supplier, "approve", now=now - dt.timedelta(days=2))
    notice = svc.open_notice(reviewer, YEAR, now=now - dt.timedelta(days=1))
    svc.file_objection(s3, notice, supplier, "该场景项目的合同金额是否包含设备采购款，请核实。", now=now)

    # S2: the renter subsidy waiting for review
    svc.file_claim(s2, s2.organisation, YEAR, "art7_renter", now=now)
    db.session.flush()
    world.summary.append("subsidy claims: 3 (finalised with a payment, in an open notice with an objection, filed)")
