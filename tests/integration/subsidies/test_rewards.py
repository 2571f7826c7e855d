"""Admin-decided rewards (POLICY.md interpretation 7): art. 8 once per firm ever (service and index),
art. 9 tiers from the parameters, art. 13 awards; caps from the parameter version in force; revocation
is a new state with a reason; decided_totals by the Beijing year of the decision."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from market.demo import DEMO_PASSWORD, load_demo
from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from market.subsidies import rewards
from models.audit import AuditEntry
from models.events import DeclarationStatus, DemoDeclaration
from models.notifications import Notification
from models.organisations import Organisation
from models.rewards import RewardDecision, RewardStatus
from models.users import Role, User

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def org(ref):
    return db.session.execute(select(Organisation).where(Organisation.ref == ref)).scalar_one()


def user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def test_opener_once_per_firm_ever_and_capped(make_org, make_user):
    firm = make_org(kind="leading_firm")
    reviewer = make_user(Role.DISTRICT_REVIEWER)
    with pytest.raises(ValidationError) as err:  # one fen over the 1,000,000 cap
        rewards.decide_opener(reviewer, firm, "1000000.01", "开放场景成效显著", now=NOW)
    assert err.value.field == "amount_cny"
    db.session.rollback()
    d = rewards.decide_opener(reviewer, firm, "1000000.00", "开放场景成效显著", now=NOW)  # exactly at the cap
    db.session.commit()
    assert (d.amount_cny, d.parameter_version, d.decided_on) == (Decimal("1000000.00"), "2026-01-01", dt.date(2026, 11, 20))
    with pytest.raises(Conflict):
        rewards.decide_opener(reviewer, firm, "10.00", "再次奖励试试", now=NOW)
    db.session.rollback()
    # the database refuses a second live one even when the service's check is bypassed
    db.session.add(RewardDecision(rule="art8_opener", organisation_id=firm.id, amount_cny=Decimal("1.00"), reason="x",
                                  parameter_version="2026-01-01", decided_on=dt.date(2026, 11, 21), evidence={}))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "reward.decide_art8_opener")).scalar_one()


def test_opener_only_for_leading_firms_and_district_staff(make_org, make_user):
    sme = make_org(kind="sme")
    firm = make_org(kind="leading_firm")
    with pytest.raises(ValidationError):
        rewards.decide_opener(make_user(Role.DISTRICT_ADMIN), sme, "100.00", "不是龙头企业", now=NOW)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        rewards.decide_opener(make_user(Role.ORG_ADMIN, org=firm), firm, "100.00", "自己奖励自己", now=NOW)
    db.session.rollback()


def test_revocation_keeps_the_decision_and_frees_the_one_time_reward(make_org, make_user):
    firm = make_org(kind="leading_firm")
    member = make_user(Role.ORG_ADMIN, org=firm)
    reviewer = make_user(Role.DISTRICT_REVIEWER)
    d = rewards.decide_opener(reviewer, firm, "500000.00", "开放场景成效显著", now=NOW)
    db.session.commit()
    with pytest.raises(ValidationError):
        rewards.revoke(reviewer, d, "")
    db.session.rollback()
    rewards.revoke(reviewer, d, "证据有误，撤销重审", now=NOW + dt.timedelta(days=1))
    db.session.commit()
    assert (d.status, d.amount_cny, d.revocation_reason) == (RewardStatus.REVOKED, Decimal("500000.00"), "证据有误，撤销重审")
    with pytest.raises(Conflict):
        rewards.revoke(reviewer, d, "再撤销一次")
    db.session.rollback()
    assert rewards.decided_totals(2026)["art8_opener"] == Decimal("0.00")
    again = rewards.decide_opener(reviewer, firm, "400000.00", "重新审定后奖励", now=NOW + dt.timedelta(days=2))
    db.session.commit()
    assert rewards.decided_totals(2026)["art8_opener"] == Decimal("400000.00")
    kinds = [n.kind for n in db.session.execute(select(Notification).where(Notification.user_id == member.id)).scalars()]
    assert kinds.count("reward.decided") == 2 and "reward.revoked" in kinds
    assert again.id != d.id


def test_decided_totals_by_beijing_year(make_org, make_user):
    reviewer = make_user(Role.DISTRICT_REVIEWER)
    p = make_org(kind="sme")
    # 2026-12-31 16:30 UTC is 2027-01-01 00:30 in Beijing: next year's
    rewards.decide_data(reviewer, p, "信用数据增值服务", "120000.00", "绩效评价优秀",
                        now=dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC))
    rewards.decide_data(reviewer, p, "医疗数据增值服务", "30000.00", "绩效评价良好",
                        now=dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC))
    db.session.commit()
    assert rewards.decided_totals(2026) == {"art8_opener": Decimal("0.00"), "art9_demo": Decimal("0.00"),
                                            "art13_data": Decimal("30000.00")}
    assert rewards.decided_totals(2027)["art13_data"] == Decimal("120000.00")


def test_decision_before_the_policy_start_is_refused(make_org, make_user):
    with pytest.raises(ValidationError):
        rewards.decide_data(make_user(Role.DISTRICT_REVIEWER), make_org(kind="sme"), "项目", "1.00", "评价意见很好",
                            now=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    db.session.rollback()


def test_demo_world_has_the_three_decisions_and_a_pending_project(app_ctx):
    load_demo()
    load_demo()  # idempotent
    live = db.session.execute(select(RewardDecision).where(RewardDecision.status == "decided")).scalars().all()
    assert sorted(d.rule for d in live) == ["art13_data", "art8_opener", "art9_demo"]
    demo = next(d for d in live if d.rule == "art9_demo")
    assert demo.declaration.status == DeclarationStatus.DECIDED
    assert demo.amount_cny == rewards.tiers_on(demo.decided_on)[demo.tier]
    opener = next(d for d in live if d.rule == "art8_opener")
    assert opener.organisation.ref == "L1" and opener.evidence["deals"] >= 1
    assert rewards.pending_declarations()


def test_art9_tier_confirmed_or_changed_amount_from_parameters(app_ctx):
    load_demo()
    reviewer = user("reviewer@ccxq.gov.cn")
    decl = rewards.pending_declarations()[0]
    assert decl.proposed_tier == "B"
    with pytest.raises(ValidationError):
        rewards.decide_demo(reviewer, decl, "Z", "没有这个档次", now=NOW)
    db.session.rollback()
    d = rewards.decide_demo(reviewer, decl, "C", "规模尚小，调整为三档", now=NOW)
    db.session.commit()
    assert (d.tier, d.amount_cny, d.evidence["proposed_tier"]) == ("C", Decimal("100000.00"), "B")
    assert decl.status == DeclarationStatus.DECIDED
    with pytest.raises(Conflict):
        rewards.decide_demo(reviewer, decl, "A", "再来一次", now=NOW)
    db.session.rollback()
    rewards.revoke(reviewer, d, "档次有误，退回重审", now=NOW)
    db.session.commit()
    assert db.session.get(DemoDeclaration, decl.id).status == DeclarationStatus.HANDED_OFF


def test_pages_reviewer_decides_and_member_reads(client, login):
    load_demo()
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    page = client.get("/subsidies/rewards/").get_data(as_text=True)
    assert 'id="pending-demo"' in page and 'data-rule="art13_data"' in page
    assert "第八条 开放场景（龙头企业一次性奖励）" in page and "第十三条 公共数据增值开发优质项目" in page  # rules in words
    decl = rewards.pending_declarations()[0]
    form = client.get(f"/subsidies/rewards/demo/{decl.id}").get_data(as_text=True)
    assert 'id="demo-form"' in form and "¥300,000.00" in form
    l1 = org("L1")
    ev = client.get(f"/subsidies/rewards/opener/{l1.id}").get_data(as_text=True)
    assert 'id="opener-done"' in ev and 'data-ref="D03"' in ev  # L1 paid S2 on a scenario contract
    assert 'data-ref="D08"' in ev  # complete (the related-party exclusion is the engine's business)
    resp = client.post(f"/subsidies/rewards/demo/{decl.id}", data={"tier": "B", "reason": "同意建议档次"})
    assert resp.status_code == 302
    d = db.session.execute(select(RewardDecision).where(RewardDecision.declaration_id == decl.id)).scalar_one()
    assert d.amount_cny == Decimal("300000.00") and d.decided_by.email == "reviewer@ccxq.gov.cn"
    client.post("/auth/logout")
    login(user("admin@xingwang-sat.cn"), DEMO_PASSWORD)
    assert client.get(f"/subsidies/rewards/{d.id}").status_code == 200
    assert client.get("/subsidies/rewards/").status_code == 403
    other = db.session.execute(select(RewardDecision).where(RewardDecision.rule == "art8_opener")).scalar_one()
    assert client.get(f"/subsidies/rewards/{other.id}").status_code == 403


def test_two_reviewers_racing_give_the_firm_one_reward(app, make_org, make_user):
    from tests.concurrency import run_parallel, tally

    firm_id = make_org(kind="leading_firm").id
    reviewer_ids = [make_user(Role.DISTRICT_REVIEWER).id for _ in range(4)]
    db.session.commit()

    def work(i):
        d = rewards.decide_opener(db.session.get(User, reviewer_ids[i]), db.session.get(Organisation, firm_id),
                                  "300000.00", f"评审意见第{i}份", now=NOW)
        return d.id

    outcomes = run_parallel(app, 4, work)
    counts = tally(outcomes)
    assert counts["ok"] == 1 and counts["conflict"] == 3, outcomes
    db.session.expire_all()
    assert len(rewards.decisions("art8_opener", firm_id)) == 1


def test_revoking_twice_in_the_browser_says_why(client, login, make_org, make_user):
    """The revoke form redirects: a refusal is flashed on the decision page, not lost on a form never shown."""
    firm = make_org(kind="leading_firm")
    reviewer = make_user(Role.DISTRICT_REVIEWER)
    d = rewards.decide_opener(reviewer, firm, "500000.00", "开放场景成效显著", now=NOW)
    db.session.commit()
    login(reviewer)
    first = client.post(f"/subsidies/rewards/{d.id}/revoke", data={"reason": "证据有误"}, follow_redirects=True)
    assert "已撤销该决定。" in first.get_data(as_text=True)
    again = client.post(f"/subsidies/rewards/{d.id}/revoke", data={"reason": "再撤销一次"}, follow_redirects=True)
    assert "该决定已撤销。" in again.get_data(as_text=True)
