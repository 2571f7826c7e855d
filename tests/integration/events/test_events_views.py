"""Events pages per role: create, attach, register, request, compute, publish, personal agenda
(PDF, iCalendar, QR), check-in, outcome, KPI (SVG without scripts, XLSX), declarations."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from market.domain.localtime import today
from market.events import services as svc
from market.extensions import db
from models.events import Event, EventStatus, MeetingRequest
from models.users import Role
from tests.events_support import scenario, world


def _login(app, user):
    client = app.test_client()
    resp = client.post("/auth/login", data={"email": user.email, "password": "Test2026pass"})
    assert resp.status_code == 302
    return client


def test_admin_creates_an_event_and_sees_bad_input(app, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    c = _login(app, admin)
    form = {"title": "数字政务专题场景对接会", "track": "digital_government", "venue": "创新中心", "event_date": "2027-03-20",
            "slot_start": "09:00", "slot_minutes": "20", "slot_gap": "5", "slot_count": "0", "tables": "10",
            "max_meetings": "6", "target_scenarios": "20"}
    resp = c.post("/events/new", data=form)
    assert resp.status_code == 200 and "活动没有时段" in resp.get_data(as_text=True)
    resp = c.post("/events/new", data={**form, "slot_count": "8", "event_date": "2020-01-01"})
    assert resp.status_code == 200 and "活动日期不能早于今天" in resp.get_data(as_text=True)
    resp = c.post("/events/new", data={**form, "slot_count": "8"})
    assert resp.status_code == 302
    event = db.session.execute(select(Event)).scalar_one()
    assert len(event.slots) == 8
    page = c.get(f"/events/{event.id}").get_data(as_text=True)
    assert "计划中" in page and 'id="advance"' in page
    resp = c.post("/events/plan", data={"plan-year": "2027", "plan-quarter": "2"})
    assert resp.status_code == 302
    assert c.post("/events/plan", data={"plan-year": "2027", "plan-quarter": "2"}).status_code == 302
    assert len(db.session.execute(select(Event)).scalars().all()) == 2
    resp = c.post("/events/plan", data={"plan-year": "99999", "plan-quarter": "2"}, follow_redirects=True)
    assert "年份须在 2000 到 2100 之间" in resp.get_data(as_text=True)
    year, quarter = svc.next_quarter(today())
    page = c.get("/events/").get_data(as_text=True)
    assert f'name="plan-year" required type="number" value="{year}"' in page
    assert f'<option selected value="{quarter}">Q{quarter}</option>' in page


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2026, 1, 1), (2026, 2)), (dt.date(2026, 3, 31), (2026, 2)), (dt.date(2026, 4, 1), (2026, 3)),
    (dt.date(2026, 9, 30), (2026, 4)), (dt.date(2026, 10, 1), (2027, 1)), (dt.date(2026, 12, 31), (2027, 1)),
])
def test_the_plan_form_offers_the_next_quarter(day, expected):
    assert svc.next_quarter(day) == expected


def test_members_cannot_create_events(app, make_user):
    c = _login(app, make_user(role=Role.ORG_ADMIN, org=None))
    assert c.get("/events/new").status_code == 403


def test_an_anonymous_visitor_reads_an_event_and_is_asked_to_log_in_to_take_part(app, make_org, make_user):
    """The home page lists the upcoming events for everyone: their pages must open without an account."""
    admin = make_user(role=Role.DISTRICT_ADMIN)
    event = svc.create_event(admin, svc.EventInput(title="智慧环保专题对接会", track="digital_healthcare", venue="创新中心",
                                                   event_date=dt.date(2027, 3, 20), slot_count=3))
    svc.advance(admin, event)  # call for scenarios
    owner = make_org(kind="leading_firm")
    listing = scenario(owner, title="污水处理厂智能巡检场景")
    svc.attach_scenario(make_user(role=Role.PROVIDER_MEMBER, org=owner), event, listing)
    db.session.commit()
    anon = app.test_client()
    page = anon.get(f"/events/{event.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "智慧环保专题对接会" in html and "创新中心" in html and "污水处理厂智能巡检场景" in html
    assert 'id="login-to-take-part"' in html and f"next=/events/{event.id}" in html
    assert 'id="admin-panel"' not in html and 'id="register-form"' not in html and 'id="participants"' not in html
    listing_page = anon.get("/events/").get_data(as_text=True)
    assert "智慧环保专题对接会" in listing_page and "/events/demo-projects" not in listing_page
    # taking part still needs an account
    assert anon.post(f"/events/{event.id}/register", data={}).status_code == 302
    # once the event is held, no one is invited to take part any more
    event.status = EventStatus.HELD
    db.session.commit()
    assert 'id="login-to-take-part"' not in anon.get(f"/events/{event.id}").get_data(as_text=True)


def test_owner_attaches_and_sme_registers_and_requests(app, make_org, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    event = svc.create_event(admin, svc.EventInput(title="对接会", track="digital_healthcare", venue="中心",
                                                   event_date=__import__("datetime").date(2027, 6, 18), slot_count=3))
    svc.advance(admin, event)
    db.session.commit()
    owner = make_org(kind="leading_firm")
    owner_user = make_user(role=Role.PROVIDER_MEMBER, org=owner)
    listing = scenario(owner)
    c = _login(app, owner_user)
    assert listing.title in c.get(f"/events/{event.id}").get_data(as_text=True)  # offered in the attach form
    assert c.post(f"/events/{event.id}/scenarios", data={"attach-listing_id": str(listing.id)}).status_code == 302
    assert svc.attached_listing_ids(event) == [listing.id]
    svc.advance(admin, event)
    db.session.commit()
    sme = make_org(kind="sme")
    sme_user = make_user(role=Role.SME_MEMBER, org=sme)
    s = _login(app, sme_user)
    # available in no slot: refused with the reason
    resp = s.post(f"/events/{event.id}/register", data={"reg-interests": [str(listing.id)]}, follow_redirects=True)
    assert "请至少选择一个可参会的时段" in resp.get_data(as_text=True)
    slots = [str(x.id) for x in event.slots[:2]]
    s.post(f"/events/{event.id}/register", data={"reg-interests": [str(listing.id)], "reg-slots": slots})
    reg = svc.registration_of(event, sme.id)
    assert reg.interests == [listing.id] and len(reg.available_slots) == 2
    page = s.get(f"/events/{event.id}").get_data(as_text=True)
    assert 'id="recommendations"' in page and "同属" in page
    s.post(f"/events/{event.id}/requests", data={"req-to_org_id": str(owner.id), "req-priority": "3",
                                                 "req-listing_id": str(listing.id), "req-message": "想谈标注数据的交付格式"})
    resp = s.post(f"/events/{event.id}/requests", data={"req-to_org_id": str(owner.id)}, follow_redirects=True)
    assert "不能重复预约" in resp.get_data(as_text=True)
    req = db.session.execute(select(MeetingRequest)).scalar_one()
    assert req.priority == 3
    assert s.post(f"/events/requests/{req.id}/accept").status_code == 403  # the requester cannot accept
    # the one asked sees what is asked before answering: the scenario, the message, the priority
    asked = c.get(f"/events/{event.id}").get_data(as_text=True).split('id="my-requests"', 1)[1].split("</table>", 1)[0]
    assert listing.title in asked and "想谈标注数据的交付格式" in asked and "<td>高</td>" in asked
    c.post(f"/events/requests/{req.id}/accept")
    db.session.refresh(req)
    assert req.status == "accepted"


def test_agenda_compute_publish_and_personal_downloads(app, make_org, make_user, tmp_path):
    w = world(make_org, make_user, smes=2, owners=2, status=EventStatus.REQUESTS)
    a = _login(app, w.admin)
    a.post(f"/events/{w.event.id}/agenda/compute")
    page = a.get(f"/events/{w.event.id}/agenda").get_data(as_text=True)
    assert 'id="agenda-optimal"' in page and "贪心法" in page
    method = page.split('id="agenda-method"', 1)[1].split("</dd>", 1)[0]
    assert "最小费用流" in method or "线性规划" in method  # the solver in words, not "flow"
    s = _login(app, w.sme_users[0])
    assert 'id="agenda-not-published"' in s.get(f"/events/{w.event.id}/my-agenda").get_data(as_text=True)
    a.post(f"/events/{w.event.id}/agenda/publish")
    db.session.refresh(w.event)
    assert w.event.status == EventStatus.AGENDA_PUBLISHED
    assert a.get(f"/events/{w.event.id}").get_data(as_text=True).count('id="advance"') == 1  # was two buttons
    page = s.get(f"/events/{w.event.id}/my-agenda").get_data(as_text=True)
    assert page.count('class="table-no"') == 2 and 'src="data:image/svg+xml' in page
    reg = svc.registration_of(w.event, w.smes[0].id)
    assert reg.checkin_code in page
    ics = s.get(f"/events/{w.event.id}/my-agenda.ics")
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8" and ics.get_data(as_text=True).count("BEGIN:VEVENT") == 2
    pdf = s.get(f"/events/{w.event.id}/my-agenda.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    printed = tmp_path / "agenda.pdf"
    printed.write_bytes(pdf.data)
    text = "".join(subprocess.run(["pdftotext", str(printed), "-"], capture_output=True, check=True, text=True).stdout.split())
    assert w.event.event_date.isoformat() in text and w.event.venue in text and reg.checkin_code in text  # when, where
    # the organisers download the whole agenda: one row a meeting, both parties named
    whole = a.get(f"/events/{w.event.id}/agenda.csv")
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "text/csv; charset=utf-8"
    lines = whole.get_data().decode("utf-8-sig").strip().splitlines()
    assert lines[0].split(",")[:4] == ["时间", "桌号", "发起方", "对方"] and len(lines) - 1 == len(svc.meetings_of(w.event))
    assert w.smes[0].name in whole.get_data().decode("utf-8-sig")
    assert a.get(f"/events/{w.event.id}/agenda.xlsx").data[:2] == b"PK"
    assert 'id="agenda-exports"' in a.get(f"/events/{w.event.id}/agenda").get_data(as_text=True)
    assert s.get(f"/events/{w.event.id}/agenda.csv").status_code == 403  # a participant has its own, not everyone's
    # an organisation that is not at the event has no agenda to download
    outsider = make_user(role=Role.ORG_ADMIN, org=make_org(kind="sme"))
    assert _login(app, outsider).get(f"/events/{w.event.id}/my-agenda.pdf").status_code == 404


def test_check_in_page_and_outcome(app, make_org, make_user):
    w = world(make_org, make_user, smes=1, owners=1, status=EventStatus.AGENDA_PUBLISHED)
    reg = svc.registration_of(w.event, w.smes[0].id)
    r = _login(app, w.reviewer)
    page = r.get(f"/events/{w.event.id}/checkin?code={reg.checkin_code}").get_data(as_text=True)
    assert reg.checkin_code in page  # a scan opens the page with the code filled in
    page = r.post(f"/events/{w.event.id}/checkin", data={"code": reg.checkin_code}).get_data(as_text=True)
    assert "签到成功" in page and w.smes[0].name in page
    page = r.post(f"/events/{w.event.id}/checkin", data={"code": reg.checkin_code}).get_data(as_text=True)
    assert "签到过" in page
    page = r.post(f"/events/{w.event.id}/checkin", data={"code": "ZZZZ"}).get_data(as_text=True)
    assert "签到码无效" in page
    meeting = svc.meetings_of(w.event)[0]
    s = _login(app, w.sme_users[0])
    assert s.post(f"/events/meetings/{meeting.id}/outcome", data={"result": "follow_up"}).status_code == 302
    db.session.refresh(meeting)
    assert meeting.outcome.result == "follow_up"


def test_kpi_public_page_chart_and_admin_export(app, make_org, make_user):
    w = world(make_org, make_user, smes=1, owners=1, status=EventStatus.HELD)
    c = app.test_client()
    page = c.get("/events/kpi").get_data(as_text=True)
    assert 'id="kpi-years"' in page and "2027" in page and "<script>" not in page.split("</footer>")[0]
    for name in ("events", "scenarios", "funnel"):
        svg = c.get(f"/events/kpi/{name}.svg")
        assert svg.mimetype == "image/svg+xml"
        body = svg.get_data(as_text=True)
        assert body.startswith("<svg") and "<script" not in body
    assert c.get("/events/kpi/admin").status_code == 302  # login
    a = _login(app, w.admin)
    resp = a.get("/events/kpi/export.xlsx")
    wb = load_workbook(io.BytesIO(resp.data))
    sheet = wb.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "2027" and rows[1][1] == 1 and rows[1][2] == 1  # 1 event, held
    assert _login(app, w.sme_users[0]).get("/events/kpi/export.xlsx").status_code == 403


def test_declaration_pages(app, make_org, make_user):
    w = world(make_org, make_user, smes=1, owners=1, status=EventStatus.AGENDA_PUBLISHED)
    o = _login(app, w.owner_users[0])
    o.post("/events/demo-projects/declare", data={"decl-title": "示范", "decl-summary": "说明",
                                                  "decl-listing_id": str(w.listings[0].id)})
    from models.events import DemoDeclaration

    decl = db.session.execute(select(DemoDeclaration)).scalar_one()
    r = _login(app, w.reviewer)
    r.post(f"/events/demo-projects/{decl.id}", data={"innovation": "25", "demonstration": "25", "replicability": "15",
                                                     "scale": "10"})
    db.session.refresh(decl)
    assert decl.total_score == 75 and decl.proposed_tier == "B"
    # the rubric and the grades' amounts (from the subsidy parameters) read in English
    page = r.get(f"/events/demo-projects/{decl.id}?lang=en").get_data(as_text=True)
    assert "High marks when already rolled out in two or more scenarios" in page and "得高分" not in page
    assert "B ≥ 70 → ¥300,000.00" in page
    assert r.post(f"/events/demo-projects/{decl.id}/handoff").status_code == 403
    _login(app, w.admin).post(f"/events/demo-projects/{decl.id}/handoff")
    db.session.refresh(decl)
    assert decl.status == "handed_off"


def test_charts_leave_no_import_hook_behind(app):
    import sys

    from market.events import charts

    charts.render("events", [], svc.plan())
    assert not any(type(f).__name__ == "PluginImportFixer" for f in sys.meta_path)


def test_counts_read_as_counts_in_english(app, make_user):
    """"Slot: 6" and a column "Scenario" over 7 / 20: a count is plural (pgettext 'count' beside the singular word)."""
    admin = make_user(role=Role.DISTRICT_ADMIN)
    event = svc.create_event(admin, svc.EventInput(title="对接会", track="digital_healthcare", venue="中心",
                                                   event_date=dt.date(2027, 6, 18), slot_count=6))
    db.session.commit()
    c = _login(app, admin)
    c.get("/lang/en")
    page = c.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Slots: 6" in page and "Slot: 6" not in page
    assert "<th>Scenarios</th>" in c.get("/events/").get_data(as_text=True)
