"""The claims workflow on a database: each transition and each refusal; the frozen snapshot and its
difference after a later ledger change; the declaration changing the engine's best-of; the job that
closes notices (``now=`` passed, never rows edited); payments never above the approved amount."""

from __future__ import annotations

import csv as csvlib
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from market.ledger.importer import import_rows
from market.subsidies import claims as svc
from market.subsidies import claims_jobs
from models.audit import AuditEntry
from models.claims import ClaimObjection, ClaimStatus, NoticeStatus, ObjectionStatus, SubsidyClaim
from models.notifications import Notification
from models.users import Role
from tests.integration.subsidies.test_subsidy_engine import at_clock, row

NOW = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
DAY = dt.timedelta(days=1)


@pytest.fixture
def world(make_org, make_user):
    at_clock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    w = type("W", (), {})()
    w.sme = make_org(kind="sme", ref="A", size="small", name="长春慧医科技有限公司")
    w.uni = make_org(kind="university", ref="U", size=None, name="吉林示范大学")
    w.other = make_org(kind="sme", ref="B", size="small")
    import_rows("test", list(enumerate([
        row("R1", "rental", "A", "U", "100000.00", "2026-03-10T10:00:00+08:00"),
        row("R2", "rental", "A", "U", "20000.00", "2026-04-10T10:00:00+08:00"),
    ], start=1)))
    db.session.commit()
    w.admin = make_user(role=Role.ORG_ADMIN, org=w.sme)
    w.member = make_user(role=Role.SME_MEMBER, org=w.sme)
    w.stranger = make_user(role=Role.ORG_ADMIN, org=w.other)
    w.reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    w.d_admin = make_user(role=Role.DISTRICT_ADMIN)
    db.session.commit()
    return w


def file(w, declarations=None, rule="art7_renter", year=2026):
    claim = svc.file_claim(w.admin, w.sme, year, rule, declarations, now=NOW)
    db.session.commit()
    return claim


def refused(exc, fn, *args, **kwargs):
    with pytest.raises(exc):
        fn(*args, **kwargs)
    db.session.rollback()


def through_notice(w):
    claim = file(w)
    svc.decide(w.reviewer, claim, "approve", now=NOW)
    notice = svc.open_notice(w.reviewer, 2026, now=NOW)
    db.session.commit()
    return claim, notice


def test_filing_freezes_the_engines_result(world):
    claim = file(world)
    assert claim.status == ClaimStatus.FILED
    assert claim.computed_cny == Decimal("60000.00")  # 50% of 120,000 (art. 7, renter)
    snap = claim.snapshot
    assert snap["rule"] == "art7_renter" and snap["beneficiary"] == "A" and snap["amount_cny"] == "60000.00"
    assert [ln["ref"] for ln in snap["lines"]] == ["R1", "R2"] and snap["cap_cny"] == "200000.00"
    assert snap["rates"] and snap["parameters"]
    assert claim.declaration == {"none": True, "items": [], "external_subsidy_ids": []}
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert "subsidy_claim.file" in actions
    told = {n.user_id for n in db.session.execute(select(Notification)).scalars()}
    assert {world.admin.id, world.reviewer.id} <= told


def test_filing_refusals(world):
    refused(PermissionDenied, svc.file_claim, world.member, world.sme, 2026, "art7_renter", now=NOW)  # not org admin
    refused(PermissionDenied, svc.file_claim, world.stranger, world.sme, 2026, "art7_renter", now=NOW)  # another org
    refused(PermissionDenied, svc.file_claim, world.reviewer, world.sme, 2026, "art7_renter", now=NOW)
    refused(ValidationError, svc.file_claim, world.admin, world.sme, 2026, "art8_supplier", now=NOW)  # nothing to claim
    refused(ValidationError, svc.file_claim, world.admin, world.sme, 2024, "art7_renter", now=NOW)  # too old a year
    refused(ValidationError, svc.file_claim, world.admin, world.sme, 2026, "art9_demo", now=NOW)
    file(world)
    refused(Conflict, svc.file_claim, world.admin, world.sme, 2026, "art7_renter", now=NOW)  # double filing
    assert db.session.execute(select(func.count(SubsidyClaim.id))).scalar_one() == 1


def test_refiling_after_a_rejection_is_allowed(world):
    claim = file(world)
    refused(ValidationError, svc.decide, world.reviewer, claim, "reject", reason="  ")  # a reason is required
    svc.decide(world.reviewer, claim, "reject", reason="租用合同与发票抬头不一致", now=NOW)
    db.session.commit()
    assert claim.status == ClaimStatus.REJECTED and claim.decision_reason == "租用合同与发票抬头不一致"
    again = file(world)
    assert again.id != claim.id and again.status == ClaimStatus.FILED


def test_the_declaration_changes_the_engines_best_of(world):
    # a whole-year other subsidy not below our amount wins: nothing left to claim, nothing filed
    refused(ValidationError, file, world, [{"source": "省级创新券", "amount_cny": "70000.00", "item": ""}])
    assert db.session.execute(select(func.count(SubsidyClaim.id))).scalar_one() == 0
    # a smaller one loses to our amount: the claim is filed and its snapshot says why
    claim = file(world, [{"source": "省级创新券", "amount_cny": "10000.00", "item": "R1 电镜租用"}])
    assert claim.computed_cny == Decimal("60000.00")
    assert claim.declaration["items"] == [{"source": "省级创新券", "amount_cny": "10000.00", "item": "R1 电镜租用"}]
    (choice,) = claim.snapshot["choices"]
    assert choice["winner"] == "art7_renter" and choice["other_cny"] == "10000.00" and "省级创新券" in choice["why"]
    # the engine reads the declaration from now on (the calculation sheet shows the same choice)
    result = svc.current_result(world.sme.id, 2026, "art7_renter")
    assert any(c.source == "省级创新券" for c in result.choices)


def test_a_later_refiling_replaces_the_earlier_declaration(world):
    claim = file(world, [{"source": "省级创新券", "amount_cny": "10000.00"}])
    svc.withdraw(world.admin, claim, now=NOW)
    db.session.commit()
    again = file(world)  # no other subsidy this time
    assert again.snapshot["choices"] == []


def test_the_snapshot_shows_a_later_ledger_change_as_a_difference(world):
    claim = file(world)
    assert not svc.snapshot_diff(claim).any
    import_rows("test", [(1, row("R3", "rental", "A", "U", "40000.00", "2026-08-10T10:00:00+08:00"))])
    db.session.commit()
    diff = svc.snapshot_diff(claim)
    assert diff.any and [ln["ref"] for ln in diff.added] == ["R3"] and diff.removed == []
    assert (diff.amount_then, diff.amount_now) == (Decimal("60000.00"), Decimal("80000.00"))
    db.session.refresh(claim)
    assert claim.computed_cny == Decimal("60000.00") and claim.snapshot["amount_cny"] == "60000.00"  # never applied


def test_review_approve_adjust_and_refusals(world):
    claim = file(world)
    refused(PermissionDenied, svc.decide, world.admin, claim, "approve")
    refused(ValidationError, svc.decide, world.reviewer, claim, "adjust", amount="50000.00", reason="")
    refused(ValidationError, svc.decide, world.reviewer, claim, "adjust", amount="250000.00", reason="超过上限")
    refused(ValidationError, svc.decide, world.reviewer, claim, "adjust", amount="0", reason="零")
    svc.decide(world.reviewer, claim, "adjust", amount="55000.00", reason="R2 的发票金额核减", now=NOW)
    db.session.commit()
    assert claim.status == ClaimStatus.APPROVED and claim.approved_cny == Decimal("55000.00")
    assert claim.decided_by_id == world.reviewer.id and claim.decided_at == NOW
    refused(Conflict, svc.decide, world.reviewer, claim, "approve")  # wrong state
    assert "subsidy_claim.adjust" in set(db.session.execute(select(AuditEntry.action)).scalars())


def test_notice_objection_upheld_sends_the_claim_back_to_review(world):
    refused(ValidationError, svc.open_notice, world.reviewer, 2026, now=NOW)  # nothing approved yet
    claim, notice = through_notice(world)
    assert claim.status == ClaimStatus.IN_NOTICE and claim.notice_id == notice.id
    assert notice.ends_at - notice.starts_at == dt.timedelta(days=7)  # claims.notice_days
    refused(PermissionDenied, svc.open_notice, world.admin, 2026, now=NOW)
    objection = svc.file_objection(world.stranger, notice, claim, "该企业的租用实为关联方交易", now=NOW + DAY)
    db.session.commit()
    refused(PermissionDenied, svc.resolve_objection, world.stranger, objection, "uphold", "自己处理")
    refused(ValidationError, svc.resolve_objection, world.reviewer, objection, "uphold", " ")
    svc.resolve_objection(world.reviewer, objection, "uphold", "经核实属实，退回重新审核", now=NOW + 2 * DAY)
    db.session.commit()
    assert objection.status == ObjectionStatus.UPHELD and objection.resolved_by_id == world.reviewer.id
    assert claim.status == ClaimStatus.FILED and claim.notice_id is None and claim.approved_cny is None
    assert claim.objections == [objection]  # shown on the claim page
    refused(Conflict, svc.resolve_objection, world.reviewer, objection, "dismiss", "再处理一次")


def test_objections_only_during_the_period(world):
    claim, notice = through_notice(world)
    refused(Conflict, svc.file_objection, world.stranger, notice, claim, "太晚了", now=notice.ends_at)
    refused(Conflict, svc.file_objection, world.stranger, notice, claim, "太早了", now=notice.starts_at - DAY)
    refused(ValidationError, svc.file_objection, world.stranger, notice, claim, "  ", now=NOW + DAY)
    assert db.session.execute(select(func.count(ClaimObjection.id))).scalar_one() == 0


def test_the_job_closes_notices_once_and_leaves_objected_claims_until_resolved(world, make_org, make_user):
    other_admin = make_user(role=Role.ORG_ADMIN, org=world.uni)
    claim = file(world)
    provider = svc.file_claim(other_admin, world.uni, 2026, "art7_provider", now=NOW)
    svc.decide(world.reviewer, claim, "approve", now=NOW)
    svc.decide(world.reviewer, provider, "approve", now=NOW)
    notice = svc.open_notice(world.reviewer, 2026, now=NOW)
    db.session.commit()
    objection = svc.file_objection(world.stranger, notice, provider, "收入含非开放业务", now=NOW + DAY)
    db.session.commit()
    assert claims_jobs.close_notices(now=notice.ends_at - dt.timedelta(seconds=1)) == 0  # not yet
    assert claims_jobs.close_notices(now=notice.ends_at) == 1
    db.session.commit()
    assert notice.status == NoticeStatus.CLOSED and notice.closed_at == notice.ends_at
    told = db.session.execute(select(Notification.user_id).where(Notification.kind == "subsidy_notice.closed"))
    assert list(told.scalars()) == [world.d_admin.id]  # the admin has a list to finalise
    assert claim.status == ClaimStatus.NOTICED and provider.status == ClaimStatus.IN_NOTICE
    assert claims_jobs.close_notices(now=notice.ends_at + DAY) == 0  # idempotent
    db.session.commit()
    closes = db.session.execute(select(func.count(AuditEntry.id)).where(AuditEntry.action == "subsidy_notice.close"))
    assert closes.scalar_one() == 1
    svc.resolve_objection(world.reviewer, objection, "dismiss", "已核实，收入均为开放仪器租用", now=notice.ends_at + DAY)
    db.session.commit()
    assert provider.status == ClaimStatus.NOTICED


def test_the_cli_closes_notices(app, world):
    _claim, notice = through_notice(world)
    early = app.test_cli_runner().invoke(args=["subsidies", "close-notices", "--now", NOW.isoformat()])
    assert early.exit_code == 0 and "0 notice(s) closed" in early.output, early.output
    result = app.test_cli_runner().invoke(args=["subsidies", "close-notices", "--now", (notice.ends_at + DAY).isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 notice(s) closed" in result.output
    db.session.expire_all()
    assert db.session.get(type(notice), notice.id).status == NoticeStatus.CLOSED


def test_finalise_and_payments_never_above_the_approved_amount(world):
    claim, notice = through_notice(world)
    refused(ValidationError, svc.finalise, world.d_admin, 2026, now=NOW)  # still in notice
    svc.close_due_notices(now=notice.ends_at)
    db.session.commit()
    refused(PermissionDenied, svc.finalise, world.reviewer, 2026, now=NOW)
    award = svc.finalise(world.d_admin, 2026, now=notice.ends_at + DAY)
    db.session.commit()
    assert claim.status == ClaimStatus.FINALISED and claim.award_list_id == award.id and award.claims == [claim]
    later = notice.ends_at + 2 * DAY
    refused(PermissionDenied, svc.record_payment, world.reviewer, claim, "1.00", dt.date(2026, 9, 10), "X1", now=later)
    refused(ValidationError, svc.record_payment, world.d_admin, claim, "60000.01", dt.date(2026, 9, 10), "X1", now=later)
    refused(ValidationError, svc.record_payment, world.d_admin, claim, "-5", dt.date(2026, 9, 10), "X1", now=later)
    svc.record_payment(world.d_admin, claim, "40000.00", dt.date(2026, 9, 10), "ZF-2026-001", now=later)
    db.session.commit()
    assert claim.status == ClaimStatus.FINALISED and claim.paid_cny == Decimal("40000.00")
    refused(ValidationError, svc.record_payment, world.d_admin, claim, "20000.01", dt.date(2026, 9, 10), "X2", now=later)
    svc.record_payment(world.d_admin, claim, "20000.00", dt.date(2026, 9, 10), "ZF-2026-002", now=later)
    db.session.commit()
    assert claim.status == ClaimStatus.PAID and claim.paid_cny == Decimal("60000.00")
    refused(Conflict, svc.record_payment, world.d_admin, claim, "0.01", dt.date(2026, 9, 10), "X3", now=later)


def test_withdraw_only_before_the_notice(world):
    claim = file(world)
    refused(PermissionDenied, svc.withdraw, world.member, claim)
    refused(PermissionDenied, svc.withdraw, world.stranger, claim)
    svc.decide(world.reviewer, claim, "approve", now=NOW)
    svc.open_notice(world.reviewer, 2026, now=NOW)
    db.session.commit()
    refused(Conflict, svc.withdraw, world.admin, claim)


def test_dashboard_queues(world):
    from market.dashboard.queues import district_queues

    claim, notice = through_notice(world)
    svc.file_objection(world.stranger, notice, claim, "异议", now=NOW + DAY)
    db.session.commit()
    queues = {q.key: q for q in district_queues()}
    assert queues["subsidy_objections"].count == 1 and queues["subsidy_claims"].count == 0
    assert queues["subsidy_claims"].link.startswith("/subsidies/claims/")


def test_award_list_exports(client, login, world):
    claim, notice = through_notice(world)
    svc.close_due_notices(now=notice.ends_at)
    award = svc.finalise(world.d_admin, 2026, now=notice.ends_at)
    svc.record_payment(world.d_admin, claim, "10000.00", dt.date(2026, 9, 9), "ZF-1", now=notice.ends_at + DAY)
    db.session.commit()
    login(world.d_admin)
    csv = client.get(f"/subsidies/awards/{award.id}/export.csv")
    assert csv.status_code == 200
    text = csv.get_data().decode("utf-8-sig")
    assert "长春慧医科技有限公司" in text and world.sme.uscc in text and "60000.00" in text and "10000.00" in text
    assert "第7条" in text or "第七条" in text
    # a total row to check the list by, in every format and on the page; the year's first list says so
    total = next(r for r in csvlib.reader(io.StringIO(text)) if r and r[0].startswith("合计"))
    assert total[0] == "合计（1 项）" and "60000.00" in total and "10000.00" in total
    assert "2026年度第1批补贴拨付名单" in csv.headers["Content-Disposition"] or "award-list-2026" in csv.headers["Content-Disposition"]
    page = client.get(f"/subsidies/awards/{award.id}").get_data(as_text=True)
    assert "<h1 class=\"h3\">2026年度第1批补贴拨付名单</h1>" in page
    totals = page.split('id="award-totals"', 1)[1].split("</tr>", 1)[0]
    assert "合计（1 项）" in totals and "¥60,000.00" in totals and "¥10,000.00" in totals
    xlsx = client.get(f"/subsidies/awards/{award.id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    pdf = client.get(f"/subsidies/awards/{award.id}/export.pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    assert client.get(f"/subsidies/awards/{award.id}/export.json").status_code == 404
    with client.session_transaction() as session:
        session.clear()
    login(world.admin)
    assert client.get(f"/subsidies/awards/{award.id}/export.csv").status_code == 403


def test_concurrent_filings_make_one_claim(app, world):
    from models.users import User
    from tests.concurrency import run_parallel, tally

    admin_id, org_id = world.admin.id, world.sme.id

    def work(i):
        from models.organisations import Organisation

        return svc.file_claim(db.session.get(User, admin_id), db.session.get(Organisation, org_id), 2026,
                              "art7_renter", now=NOW).id

    outcomes = run_parallel(app, 4, work)
    assert tally(outcomes) == {"ok": 1, "conflict": 3}, outcomes
    db.session.expire_all()
    assert db.session.execute(select(func.count(SubsidyClaim.id))).scalar_one() == 1


def test_concurrent_payments_never_exceed_the_approved_amount(app, world):
    from models.users import User
    from tests.concurrency import run_parallel, tally

    claim, notice = through_notice(world)
    svc.close_due_notices(now=notice.ends_at)
    svc.finalise(world.d_admin, 2026, now=notice.ends_at)
    db.session.commit()
    admin_id, claim_id, later = world.d_admin.id, claim.id, notice.ends_at + DAY

    def work(i):
        return svc.record_payment(db.session.get(User, admin_id), db.session.get(SubsidyClaim, claim_id), "20000.00",
                                  dt.date(2026, 9, 9), f"ZF-{i}", now=later).id

    outcomes = run_parallel(app, 4, work)
    counts = tally(outcomes)  # the fourth finds the claim paid (409) or the total reached (422)
    assert counts["ok"] == 3 and counts["conflict"] + counts["refused"] == 1, outcomes
    db.session.expire_all()
    claim = db.session.get(SubsidyClaim, claim_id)
    assert claim.paid_cny == Decimal("60000.00") and claim.status == ClaimStatus.PAID


def test_the_close_job_is_registered_with_the_scheduler(app):
    from market.scheduler import registered_jobs

    spec = next(s for s in registered_jobs() if s.id == "subsidies.close_notices")
    assert spec.func is claims_jobs.close_notices and spec.trigger == "interval"


def test_an_organisations_import_leaves_the_declarations_filed_with_a_claim(world):
    """``orgs import`` replaces the declarations its file is the truth for; a claim's stay with the claim."""
    from market.orgs.importer import import_rows as import_orgs
    from market.orgs.importer import org_to_row

    claim = file(world, [{"source": "省级创新券", "amount_cny": "10000.00", "item": "R1 电镜租用"}])
    db.session.commit()
    row_out = org_to_row(world.sme)
    assert "external_subsidies" not in row_out  # the export lists only the import's own declarations
    import_orgs("cli", [(1, {**row_out, "external_subsidies": [
        {"rule": "art8_supplier", "year": 2026, "amount_cny": "500.00", "source": "市级奖励"}]})])
    db.session.commit()
    declared = sorted((s.source, s.declared_in) for s in world.sme.external_subsidies)
    assert declared == [("市级奖励", "import"), ("省级创新券", "claim")]
    import_orgs("cli", [(1, org_to_row(world.sme) | {"external_subsidies": []})])  # the file lists none now
    db.session.commit()
    assert [(s.source, s.declared_in) for s in world.sme.external_subsidies] == [("省级创新券", "claim")]
    assert not svc.snapshot_diff(claim).any  # the engine still sees the claim's declaration


def test_amounts_are_read_by_the_one_money_parser(world):
    """Declarations, adjustments and payments accept what people type (1万, 1,000) and refuse the rest with
    the platform's one money message (issue 9)."""
    with pytest.raises(ValidationError) as caught:
        file(world, [{"source": "省级创新券", "amount_cny": "1e4", "item": ""}])
    db.session.rollback()
    assert caught.value.field == "declarations-0-amount_cny" and "38万" in caught.value.message
    claim = file(world, [{"source": "省级创新券", "amount_cny": "1万", "item": ""}])
    assert claim.declaration["items"][0]["amount_cny"] == "10000.00"


def test_a_years_award_lists_are_told_apart_by_batch():
    """Two lists of one year read the same title; the batch counts a year's lists in the order they were made."""
    from models.claims import AwardList

    lists = [AwardList(id=7, year=2026), AwardList(id=3, year=2026), AwardList(id=5, year=2025), AwardList(id=9, year=2026)]
    assert svc.award_batches(lists) == {3: 1, 7: 2, 9: 3, 5: 1}
