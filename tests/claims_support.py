"""Builders for subsidy-claim tests: the object permission matrix's claims, notice, objection and award list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from market.extensions import db
from models.claims import AwardList, ClaimObjection, ClaimStatus, NoticeStatus, PublicNotice, SubsidyClaim

SNAPSHOT = {"beneficiary": "X", "rule": "art7_renter", "year": 2026, "base_cny": "200.00", "amount_cny": "100.00",
            "uncapped_cny": "100.00", "cap_cny": "200000.00", "capped": False, "entries": [], "excluded": [],
            "parameters": "art7_renter@2026-01-01", "rates": [], "lines": [], "exclusions": [], "choices": []}


def _claim(org, status, year, **fields) -> SubsidyClaim:
    claim = SubsidyClaim(organisation_id=org.id, year=year, rule="art7_renter", status=status,
                         computed_cny=Decimal("100.00"), snapshot=dict(SNAPSHOT), declaration={"none": True, "items": []},
                         **fields)
    db.session.add(claim)
    return claim


def add_to_object_matrix(w) -> None:
    """Per side: a filed claim (2026), a claim in an open notice with an open objection (2025), and a
    finalised claim on an award list (2024) to record payments against."""
    now = dt.datetime.now(dt.UTC)
    w.notice = PublicNotice(year=2025, title="对象矩阵公示", starts_at=now - dt.timedelta(days=1),
                            ends_at=now + dt.timedelta(days=6), status=NoticeStatus.OPEN)
    w.award_list = AwardList(year=2024, finalised_at=now)
    db.session.add_all([w.notice, w.award_list])
    db.session.flush()
    for s in w.side.values():
        s.claim = _claim(s.sme, ClaimStatus.FILED, 2026)
        s.claim_in_notice = _claim(s.sme, ClaimStatus.IN_NOTICE, 2025, approved_cny=Decimal("100.00"), notice_id=w.notice.id)
        s.claim_final = _claim(s.sme, ClaimStatus.FINALISED, 2024, approved_cny=Decimal("100.00"), award_list_id=w.award_list.id)
        db.session.flush()
        s.objection = ClaimObjection(notice_id=w.notice.id, claim_id=s.claim_in_notice.id, text="对象矩阵异议")
        db.session.add(s.objection)
    db.session.commit()
