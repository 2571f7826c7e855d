"""The claims pages: filing through the form (with a declaration), the public notice read without
logging in, objections only for logged-in users, the budget view and its chart for district staff."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from market.domain.localtime import today
from market.extensions import db
from market.ledger.importer import import_rows
from market.subsidies import budget, rewards
from market.subsidies import claims as svc
from models.claims import ClaimStatus, SubsidyClaim
from models.organisations import ExternalSubsidy, Organisation
from models.users import Role
from tests.integration.subsidies.test_subsidy_engine import row


def _world(make_org, make_user):
    day = today()
    year = day.year if day.month > 1 else day.year - 1
    sme = make_org(kind="sme", ref="A", size="small", name="长春慧医科技有限公司")
    make_org(kind="university", ref="U", size=None)
    import_rows("test", [(1, row("R1", "rental", "A", "U", "100000.00", f"{year}-01-10T10:00:00+08:00"))])
    admin = make_user(role=Role.ORG_ADMIN, org=sme)
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    db.session.commit()
    return year, sme, admin, reviewer


def logout(client):
    with client.session_transaction() as session:
        session.clear()


def test_filing_through_the_form_with_a_declaration(client, login, make_org, make_user):
    year, sme, admin, _reviewer = _world(make_org, make_user)
    login(admin)
    page = client.get("/subsidies/claims/").get_data(as_text=True)
    assert f'id="file-{year}-art7_renter"' in page and "¥50,000.00" in page
    form = client.get(f"/subsidies/claims/new?year={year}&rule=art7_renter").get_data(as_text=True)
    assert 'id="computed-amount">¥50,000.00' in form
    resp = client.post(f"/subsidies/claims/new?year={year}&rule=art7_renter",
                       data={"other": "list", "source_1": "省级创新券", "amount_1": "8000.00", "item_1": "R1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    claim = db.session.execute(select(SubsidyClaim)).scalar_one()
    assert claim.declaration["items"][0]["source"] == "省级创新券"
    ext = db.session.execute(select(ExternalSubsidy)).scalar_one()
    assert (ext.organisation_id, ext.rule, ext.year, ext.amount_cny) == (sme.id, "art7_renter", year, Decimal("8000.00"))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-status="filed"' in page and "省级创新券" in page and 'data-winner="art7_renter"' in page
    # each counted payment links to its ledger entry (a reviewer opens its evidence from the claim)
    assert 'href="/ledger/entries/ref/R1"' in page
    entry = client.get("/ledger/entries/ref/R1")
    assert entry.status_code == 302 and "/ledger/entries/" in entry.headers["Location"]
    assert "R1" in client.get(entry.headers["Location"]).get_data(as_text=True)
    assert client.get("/ledger/entries/ref/NOPE").status_code == 404
    # a bad amount is shown on the form, nothing is filed twice
    again = client.post(f"/subsidies/claims/new?year={year}&rule=art7_renter", data={"other": "none"})
    assert again.status_code == 200 and "已有申报" in again.get_data(as_text=True)


def test_declaring_other_subsidies_with_none_listed_is_refused(client, login, make_org, make_user):
    """有，列明如下 with every row empty was filed as 同一事项未享受其他补贴: the opposite of what was said."""
    year, _sme, admin, _reviewer = _world(make_org, make_user)
    login(admin)
    resp = client.post(f"/subsidies/claims/new?year={year}&rule=art7_renter", data={"other": "list"})
    assert resp.status_code == 200 and "请至少列出一项" in resp.get_data(as_text=True)
    assert db.session.execute(select(SubsidyClaim)).first() is None
    resp = client.post(f"/subsidies/claims/new?year={year}&rule=art7_renter", data={"other": "none"})
    assert resp.status_code == 302
    assert db.session.execute(select(SubsidyClaim)).scalar_one().declaration["none"] is True


def test_the_notice_is_public_and_objections_need_a_login(client, login, make_org, make_user):
    year, sme, admin, reviewer = _world(make_org, make_user)
    now = dt.datetime.now(dt.UTC)
    claim = svc.file_claim(admin, sme, year, "art7_renter", now=now)
    svc.decide(reviewer, claim, "approve", now=now)
    notice = svc.open_notice(reviewer, year, now=now)
    db.session.commit()
    page = client.get(f"/subsidies/notices/{notice.id}").get_data(as_text=True)
    assert "长春慧医科技有限公司" in page and "¥50,000.00" in page and "登录后可提出异议" in page
    assert notice.title in client.get("/subsidies/notices/").get_data(as_text=True)
    resp = client.post(f"/subsidies/notices/{notice.id}/objections", data={"claim_id": claim.id, "text": "匿名"})
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    login(make_user(role=Role.SME_MEMBER))
    resp = client.post(f"/subsidies/notices/{notice.id}/objections", data={"claim_id": claim.id, "text": "请核实"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert [o.text for o in db.session.get(SubsidyClaim, claim.id).objections] == ["请核实"]


def test_the_budget_view(client, login, make_org, make_user):
    year, sme, admin, reviewer = _world(make_org, make_user)
    d_admin = make_user(role=Role.DISTRICT_ADMIN)
    now = dt.datetime.now(dt.UTC)
    claim = svc.file_claim(admin, sme, year, "art7_renter", now=now)
    svc.decide(reviewer, claim, "adjust", amount="45000.00", reason="核减", now=now)
    notice = svc.open_notice(reviewer, year, now=now)
    svc.close_due_notices(now=notice.ends_at)
    svc.finalise(d_admin, year, now=notice.ends_at)
    svc.record_payment(d_admin, claim, "15000.00", today(notice.ends_at), "ZF-9", now=notice.ends_at)
    db.session.commit()
    assert claim.status == ClaimStatus.FINALISED
    b = budget.budget(year)
    renter = next(t for t in b.rules if t.rule == "art7_renter")
    assert (renter.computed, renter.claimed, renter.approved, renter.noticed, renter.paid) == (
        Decimal("50000.00"), Decimal("50000.00"), Decimal("45000.00"), Decimal("45000.00"), Decimal("15000.00"))
    head = next(h for h in b.headroom if h.ref == "A" and h.rule == "art7_renter")
    assert head.left == Decimal("150000.00")  # cap 200,000 (art. 7, renter)
    assert sum(b.monthly["paid"]) == Decimal("15000.00")
    # an admin-decided reward (art. 13) is listed apart, in the year of its decision
    assert b.decided["art13_data"] == Decimal("0.00")
    rewards.decide_data(reviewer, sme, "交通数据增值开发", "120000.00", "绩效评价良好")
    db.session.commit()
    b = budget.budget(today().year)
    assert b.decided["art13_data"] == Decimal("120000.00") and b.decided["art8_opener"] == Decimal("0.00")
    login(reviewer)
    page = client.get(f"/subsidies/budget?year={year}").get_data(as_text=True)
    assert 'data-rule="art7_renter"' in page and "¥45,000.00" in page and "¥150,000.00" in page
    if year == today().year:
        assert 'data-rule="art13_data"' in page and "¥120,000.00" in page
    svg = client.get(f"/subsidies/budget/{year}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<script" not in svg.data
    # In English a claim is "claimed" (已申报 in the claims' sense), and the queue shows when it was submitted.
    english = client.get(f"/subsidies/budget?year={year}&lang=en").get_data(as_text=True)
    assert ">Claimed<" in english and "Declared" not in english
    assert "Claimed" in client.get(f"/subsidies/budget/{year}.svg?lang=en").get_data(as_text=True)
    assert "Submitted at" in client.get("/subsidies/claims/?lang=en").get_data(as_text=True)
    logout(client)
    login(admin)
    assert client.get(f"/subsidies/budget?year={year}").status_code == 403


def test_entitlements_list_only_the_sides_an_organisation_takes(client, login, make_org, make_user):
    """The renter sees its art. 7 renter line and the university its provider line; an organisation with no
    ledger entries sees the empty state, not four ¥0.00 lines for sides it never takes."""
    year, sme, admin, _reviewer = _world(make_org, make_user)
    university = db.session.execute(select(Organisation).where(Organisation.ref == "U")).scalar_one()
    lab_admin = make_user(role=Role.ORG_ADMIN, org=university)
    idle = make_org(kind="sme", ref="B", size="small", name="长春闲置科技有限公司")
    idle_admin = make_user(role=Role.ORG_ADMIN, org=idle)
    db.session.commit()

    def rows(user):
        login(user)
        page = client.get("/subsidies/claims/").get_data(as_text=True)
        logout(client)
        return page, {line.split('data-rule="')[1].split('"')[0]
                      for line in page.splitlines() if f'data-year="{year}" data-rule=' in line}

    assert rows(admin)[1] == {"art7_renter"}
    assert rows(lab_admin)[1] == {"art7_provider"}
    page, idle_rows = rows(idle_admin)
    assert idle_rows == set() and 'id="no-entitlements"' in page


def test_entitlements_carry_the_live_claim_of_their_year_and_rule_only(make_org, make_user):
    """A withdrawn claim frees the line (no claim shown, may file again); a new filing is the line's claim;
    the other year's line has none."""
    year, sme, admin, _reviewer = _world(make_org, make_user)
    first = svc.file_claim(admin, sme, year, "art7_renter", [])
    svc.withdraw(admin, first)
    db.session.commit()
    [line] = [e for e in svc.entitlements(sme.id) if e.year == year]
    assert (line.rule, line.claim, line.amount) == ("art7_renter", None, Decimal("50000.00"))
    second = svc.file_claim(admin, sme, year, "art7_renter", [])
    db.session.commit()
    lines = {(e.year, e.rule): e.claim for e in svc.entitlements(sme.id)}
    assert lines == {(year, "art7_renter"): second}
    assert second.status == ClaimStatus.FILED and first.status == ClaimStatus.WITHDRAWN


def test_a_refused_decision_keeps_what_the_reviewer_chose_and_typed(client, login, make_org, make_user):
    """After 驳回 without a reason the form came back set to 按计算金额核定, amount and reason wiped: typing the reason
    again and submitting approved the claim at the computed amount."""
    year, sme, admin, reviewer = _world(make_org, make_user)
    claim = svc.file_claim(admin, sme, year, "art7_renter")
    db.session.commit()
    login(reviewer)
    resp = client.post(f"/subsidies/claims/{claim.id}/decide", data={"decision": "reject", "reason": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "驳回理由" in page
    assert _checked(page) == "reject"
    resp = client.post(f"/subsidies/claims/{claim.id}/decide",
                       data={"decision": "adjust", "amount": "60000.00", "reason": "多算"})  # computed: 50,000
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "不能高于按规则计算的金额 ¥50,000.00" in page
    assert _checked(page) == "adjust" and 'value="60000.00"' in page and "多算" in page
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).status == ClaimStatus.FILED
    resp = client.post(f"/subsidies/claims/{claim.id}/decide",
                       data={"decision": "adjust", "amount": "45000.00", "reason": "核减一笔"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).approved_cny == Decimal("45000.00")


def _checked(page: str) -> str | None:
    """The value of the checked decision radio button."""
    import re

    for tag in re.findall(r"<input[^>]*name=\"decision\"[^>]*>", page):
        if re.search(r"\bchecked\b", tag):
            return re.search(r'value="([^"]+)"', tag).group(1)
    return None


def test_a_payment_before_the_award_list_or_of_nothing_is_refused_with_the_input_kept(client, login, make_org, make_user):
    year, sme, admin, reviewer = _world(make_org, make_user)
    now = dt.datetime.now(dt.UTC)
    claim = svc.file_claim(admin, sme, year, "art7_renter", now=now)
    svc.decide(reviewer, claim, "approve", now=now)
    notice = svc.open_notice(reviewer, year, now=now - dt.timedelta(days=10))
    svc.close_due_notices(now=notice.ends_at)
    d_admin = make_user(role=Role.DISTRICT_ADMIN)
    svc.finalise(d_admin, year, now=notice.ends_at)
    db.session.commit()
    listed = today(notice.ends_at)
    login(d_admin)
    resp = client.post(f"/subsidies/claims/{claim.id}/payments",
                       data={"amount_cny": "20000.00", "paid_on": "2020-01-01", "reference": "ZF-2020-1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f"拨付日期不能早于拨付名单确定的日期（{listed.isoformat()}）" in page
    assert 'value="20000.00"' in page and 'value="ZF-2020-1"' in page
    resp = client.post(f"/subsidies/claims/{claim.id}/payments",
                       data={"amount_cny": "0", "paid_on": listed.isoformat(), "reference": "ZF-1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "请填写拨付金额" not in page and "金额不能为零" in page
    resp = client.post(f"/subsidies/claims/{claim.id}/payments",
                       data={"amount_cny": "60000.00", "paid_on": listed.isoformat(), "reference": "ZF-1"})
    assert resp.status_code == 422 and "尚可拨付 ¥50,000.00" in resp.get_data(as_text=True)
    resp = client.post(f"/subsidies/claims/{claim.id}/payments",
                       data={"amount_cny": "20000.00", "paid_on": listed.isoformat(), "reference": "ZF-1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).paid_cny == Decimal("20000.00")


def test_a_claims_reasons_and_choices_read_in_english_old_snapshots_too(client, login, make_org, make_user):
    """The frozen calculation showed the engine's Chinese sentences ("其他补贴 … 按其他补贴执行", "缺少凭证：发票")
    to an English reader: now they are rendered from codes and amounts, and a snapshot stored before the codes
    were kept (message and why only) reads the same."""
    year, sme, admin, _reviewer = _world(make_org, make_user)
    import_rows("test", [(2, row("R2", "rental", "A", "U", "5000.00", f"{year}-01-12T10:00:00+08:00",
                                 evidence=["contract"]))])
    db.session.commit()
    login(admin)
    resp = client.post(f"/subsidies/claims/new?year={year}&rule=art7_renter",
                       data={"other": "list", "source_1": "省级创新券", "amount_1": "8000.00", "item_1": "R1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    claim = db.session.execute(select(SubsidyClaim)).scalar_one()
    (excluded,) = claim.snapshot["exclusions"]
    assert (excluded["codes"], excluded["missing"]) == (["missing_evidence"], ["invoice", "payment_record"])
    url = resp.headers["Location"]
    chinese = client.get(url).get_data(as_text=True)
    (choice,) = claim.snapshot["choices"]
    assert choice["why"] in chinese and excluded["message"] in chinese  # the same words as the engine's, in Chinese
    want = ["Missing evidence: Invoice, Proof of payment",
            "Whole year: This rule&#39;s amount for the year, ¥50,000.00, is above the other subsidy of ¥8,000.00 "
            "(省级创新券): this rule applies"]
    english = client.get(url + "?lang=en").get_data(as_text=True)
    assert all(w in english for w in want), english[english.find('id="snapshot"'):][:3000]
    assert "缺少凭证" not in english and "按本条款执行" not in english
    # a snapshot from before the codes: the words are read back from its stored Chinese
    old = {**claim.snapshot, "exclusions": [{k: v for k, v in e.items() if k not in ("codes", "missing", "detail")}
                                            for e in claim.snapshot["exclusions"]]}
    claim.snapshot = old
    db.session.commit()
    again = client.get(url + "?lang=en").get_data(as_text=True)
    assert all(w in again for w in want) and "缺少凭证" not in again
