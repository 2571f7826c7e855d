"""Issue 11 in the browser: an admin creates an event, a leading firm attaches scenarios, two SMEs
register and request meetings, the owner accepts, the admin computes and publishes the agenda,
each SME sees their own agenda and downloads it; an outcome feeds the KPI dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from market.extensions import db
from models.events import Event
from models.users import Role
from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD
from tests.events_support import scenario

pytestmark = pytest.mark.browser


def _session(browser, site, user):
    page = browser.new_page()
    ui_login(page, site, user.email, PASSWORD)
    return page


def test_event_from_creation_to_kpi(browser, site, make_org, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    owner_org = make_org(kind="leading_firm", name="长春光华医疗科技集团")
    owner = make_user(role=Role.ORG_ADMIN, org=owner_org)
    first = scenario(owner_org, title="肺结节 CT 智能识别")
    second = scenario(owner_org, title="药物虚拟筛选")
    smes = [make_org(kind="sme", name=name) for name in ("长春慧医数字健康", "吉林影像智能")]
    sme_users = [make_user(role=Role.ORG_ADMIN, org=org) for org in smes]

    # the admin creates the event and opens the call for scenarios
    a = _session(browser, site, admin)
    a.goto(f"{site}/events/")
    a.click("#new-event")
    a.fill("input[name=title]", "智慧医疗专题场景对接会")
    a.select_option("select[name=track]", "digital_healthcare")
    a.fill("input[name=venue]", "长春新区创新创业中心")
    a.fill("input[name=event_date]", "2027-06-18")
    a.fill("input[name=slot_count]", "4")
    a.click("#event-form [type=submit]")
    expect(a.locator("#event-status")).to_have_text("计划中")
    event = db.session.execute(select(Event)).scalar_one()
    event_url = f"{site}/events/{event.id}"
    a.click("#advance")
    expect(a.locator("#event-status")).to_have_text("场景征集")

    # the leading firm attaches both scenarios
    o = _session(browser, site, owner)
    for listing in (first, second):
        o.goto(event_url)
        o.select_option("#attach-form select", str(listing.id))
        o.click("#attach-form [type=submit]")
        expect(o.locator("#event-scenarios")).to_contain_text(listing.title)
    expect(o.locator("#scenario-progress")).to_contain_text("2")

    a.goto(event_url)
    a.click("#advance")
    expect(a.locator("#event-status")).to_have_text("报名中")

    # two SMEs register (interests, availability) and request a meeting with the firm
    pages = []
    for user, listing in zip(sme_users, (first, second), strict=True):
        s = _session(browser, site, user)
        s.goto(event_url)
        s.check(f"#register-form input[name=reg-interests][value='{listing.id}']")
        s.click("#register-form [type=submit]")
        expect(s.locator(".alert-success")).to_contain_text("报名信息已保存")
        expect(s.locator("#recommendations")).to_contain_text("同属")
        s.select_option("#request-form select[name=req-to_org_id]", str(owner_org.id))
        s.click("#request-form [type=submit]")
        expect(s.locator("#my-requests")).to_contain_text("待答复")
        pages.append(s)

    # the firm accepts both
    o.goto(event_url)
    for _ in range(2):
        o.locator("#my-requests button", has_text="接受").first.click()
        o.wait_for_load_state()
    expect(o.locator("#my-requests")).not_to_contain_text("待答复")

    # the admin moves to requests, computes and publishes the agenda
    a.goto(event_url)
    a.click("#advance")
    expect(a.locator("#event-status")).to_have_text("会谈预约")
    a.click("#compute-agenda")
    expect(a.locator("#agenda-optimal")).to_contain_text("是")
    expect(a.locator("#agenda-table tbody tr")).to_have_count(2)
    a.click("#publish-agenda")
    expect(a.locator(".alert-success")).to_contain_text("日程已发布")

    # each SME sees its own agenda (one meeting with the firm, a table number) and downloads it
    for s, org in zip(pages, smes, strict=True):
        s.goto(f"{event_url}/my-agenda")
        expect(s.locator("#my-agenda tbody tr")).to_have_count(1)
        expect(s.locator("#my-agenda")).to_contain_text(owner_org.name)
        expect(s.locator("#my-agenda")).not_to_contain_text(smes[1 - smes.index(org)].name)
        expect(s.locator("#checkin-qr")).to_be_visible()
        with s.expect_download() as pdf:
            s.click("#download-pdf")
        assert pdf.value.suggested_filename.endswith(".pdf")
        with s.expect_download() as ics:
            s.click("#download-ics")
        assert open(ics.value.path(), encoding="utf-8").read().count("BEGIN:VEVENT") == 1

    # an outcome, the event held: the KPI dashboard counts it
    s = pages[0]
    s.locator("#my-agenda a", has_text="登记结果").click()
    s.select_option("select[name=result]", "follow_up")
    s.click("#outcome-form [type=submit]")
    expect(s.locator("#my-agenda")).to_contain_text("待跟进")
    a.goto(event_url)
    a.click("#advance")
    expect(a.locator("#event-status")).to_have_text("已举办")
    a.goto(f"{site}/events/kpi")
    row = a.locator("#kpi-years tbody tr", has_text="2027")
    expect(row).to_contain_text("1 / 1")  # held / events
    expect(row.locator("td").nth(6)).to_have_text("1")  # follow-ups
    expect(a.locator("img[src$='events.svg']")).to_be_visible()
