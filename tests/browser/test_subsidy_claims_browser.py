"""Issue 10 in the browser: an SME files a claim; a reviewer sees the computed entitlement with its
explanation, approves and opens the public notice (公示); another user objects; the reviewer resolves
the objection; the notice closes (the job's service, with ``now=``); the admin finalises the award list
and downloads XLSX, CSV and a Chinese PDF whose text names the organisation and the amount."""

from __future__ import annotations

import io
import subprocess

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from market.domain.localtime import today
from market.extensions import db
from market.ledger.importer import import_rows
from market.subsidies import claims as svc
from models.claims import ClaimStatus, PublicNotice, SubsidyClaim
from models.users import Role
from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD
from tests.integration.subsidies.test_subsidy_engine import row

pytestmark = pytest.mark.browser


def _session(browser, site, user):
    page = browser.new_page()
    ui_login(page, site, user.email, PASSWORD)
    return page


def test_claim_from_filing_to_the_award_list(browser, site, make_org, make_user, tmp_path):
    day = today()
    year = day.year if day.month > 1 else day.year - 1  # a year with a past January to pay in
    sme = make_org(kind="sme", ref="A", size="small", name="长春慧医科技有限公司")
    make_org(kind="university", ref="U", size=None, name="吉林示范大学")
    import_rows("test", list(enumerate([
        row("R1", "rental", "A", "U", "100000.00", f"{year}-01-10T10:00:00+08:00"),
        row("R2", "rental", "A", "U", "24680.00", f"{year}-01-20T10:00:00+08:00"),
    ], start=1)))
    sme_admin = make_user(role=Role.ORG_ADMIN, org=sme)
    neighbour = make_user(role=Role.ORG_ADMIN, org=make_org(kind="sme", name="吉林邻居科技有限公司"))
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    admin = make_user(role=Role.DISTRICT_ADMIN)
    db.session.commit()

    # the SME sees its computed entitlement and files, declaring no other subsidy
    s = _session(browser, site, sme_admin)
    s.goto(f"{site}/subsidies/claims/")
    row_ = s.locator(f"#entitlements tr[data-year='{year}'][data-rule='art7_renter']")
    expect(row_.locator("[data-field=amount]")).to_have_text("¥62,340.00")  # 50% of 124,680
    row_.locator(f"#file-{year}-art7_renter").click()
    expect(s.locator("#computed-amount")).to_have_text("¥62,340.00")
    s.click("#file-claim [name=submit]")
    expect(s.locator("#claim")).to_have_attribute("data-status", "filed")
    claim = db.session.execute(select(SubsidyClaim)).scalar_one()

    # the reviewer sees the computed entitlement with its explanation, approves, opens the notice
    r = _session(browser, site, reviewer)
    r.goto(f"{site}/subsidies/claims/?status=filed")
    r.click(f"#claims tr[data-claim='{claim.id}'] a >> nth=0")
    expect(r.locator("#snapshot [data-field=amount]")).to_have_text("¥62,340.00")
    expect(r.locator("[data-table=lines] tr[data-ref=R1]")).to_be_visible()
    expect(r.locator("#diff")).to_have_attribute("data-changed", "no")
    expect(r.locator("#declaration")).to_contain_text("未享受其他补贴")
    r.check("#decide input[name=decision][value=approve]")
    r.click("#decide [name=submit]")
    expect(r.locator("#claim")).to_have_attribute("data-status", "approved")
    r.goto(f"{site}/subsidies/claims/")
    r.select_option("#open-notice select[name=notice-year]", str(year))
    r.click("#open-notice [name=notice-submit]")
    expect(r.locator("#notice-claims")).to_contain_text("长春慧医科技有限公司")
    expect(r.locator("#notice-claims")).to_contain_text("¥62,340.00")
    notice_url = r.url

    # the notice is public; another logged-in user objects
    anon = browser.new_page()
    anon.goto(notice_url)
    expect(anon.locator("#notice-claims")).to_contain_text("长春慧医科技有限公司")
    n = _session(browser, site, neighbour)
    n.goto(notice_url)
    n.fill("#objection textarea[name=text]", "R2 的租用是否为同一台设备的重复计费？")
    n.click("#objection [name=submit]")
    expect(n.locator(".alert-success")).to_be_visible()

    # the reviewer resolves it (dismissed: the claim stays in the notice)
    r.goto(f"{site}/subsidies/claims/{claim.id}")
    objection = r.locator("#objections [data-objection]")
    expect(objection).to_have_attribute("data-status", "open")
    r.fill("#objections textarea", "已核实：两次租用分别为不同的样品批次，计费无重复。")
    r.click("#objections [type=submit]")
    expect(r.locator("#objections [data-objection]")).to_have_attribute("data-status", "dismissed")

    # the notice period passes: the scheduler's service closes it
    db.session.expire_all()
    notice = db.session.execute(select(PublicNotice)).scalar_one()
    assert len(svc.close_due_notices(now=notice.ends_at)) == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).status == ClaimStatus.NOTICED

    # the admin finalises the award list and downloads it
    a = _session(browser, site, admin)
    a.goto(f"{site}/subsidies/claims/")
    a.select_option("#finalise select[name=final-year]", str(year))
    a.click("#finalise [name=final-submit]")
    expect(a.locator("#award-claims")).to_contain_text("长春慧医科技有限公司")
    files = {}
    for fmt in ("xlsx", "csv", "pdf"):
        with a.expect_download() as dl:
            a.click(f"#export-{fmt}")
        path = tmp_path / f"award.{fmt}"
        dl.value.save_as(path)
        files[fmt] = path
    sheet = load_workbook(io.BytesIO(files["xlsx"].read_bytes()), read_only=True).active
    cells = [c for r_ in sheet.iter_rows(values_only=True) for c in r_]
    assert "长春慧医科技有限公司" in cells and sme.uscc in cells
    csv = files["csv"].read_text(encoding="utf-8-sig")
    assert "长春慧医科技有限公司" in csv and "62340.00" in csv
    text = subprocess.run(["pdftotext", str(files["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    text = "".join(text.split())  # a narrow column wraps the name
    assert "长春慧医科技有限公司" in text
    assert "62,340.00" in text or "62340.00" in text

    # and records the payment of the award
    a.goto(f"{site}/subsidies/claims/{claim.id}")
    a.fill("#pay input[name=reference]", "ZF-0001")
    a.click("#pay [name=submit]")
    expect(a.locator("#claim")).to_have_attribute("data-status", "paid")


def test_the_calculation_sheet_downloads_with_the_years_reward_decisions(browser, site, make_org, make_user):
    """Served as in production (one app context per request, the session removed when the view returns), the
    sheet streams its rows after the view: a reward decision loaded in the view once came back expired and
    detached, and every format of the sheet of an organisation with a decision was a 500."""
    from market.subsidies import rewards

    year = today().year
    sme = make_org(kind="sme", ref="A", size="small", name="长春慧医科技有限公司")
    make_org(kind="university", ref="U", size=None, name="吉林示范大学")
    import_rows("test", [(1, row("R1", "rental", "A", "U", "100000.00", f"{year}-01-10T10:00:00+08:00"))])
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    db.session.commit()
    rewards.decide_data(reviewer, sme, "交通数据增值开发", "120000.00", "绩效评价良好")
    db.session.commit()

    page = _session(browser, site, reviewer)
    for fmt in ("csv", "xlsx", "pdf"):
        resp = page.request.get(f"{site}/subsidies/{sme.id}/{year}/export.{fmt}")
        assert resp.status == 200, (fmt, resp.text()[:300])
        body = resp.body()
        if fmt == "csv":
            text = body.decode("utf-8-sig")
            assert "交通数据增值开发" in text and "120000.00" in text and "R1" in text
        elif fmt == "xlsx":
            cells = [c for r in load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True) for c in r]
            assert any(isinstance(c, str) and "交通数据增值开发" in c for c in cells)
        else:
            assert body.startswith(b"%PDF")
