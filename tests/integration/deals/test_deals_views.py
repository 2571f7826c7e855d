import datetime as dt
import io
from decimal import Decimal

from flask import g

from market.domain.localtime import SHANGHAI
from market.extensions import db
from models.deals import Bid, Booking, Contract, DataApplication
from models.users import Role
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import MINIMAL_PDF, make_listing, next_weekday_at


class _Client:
    """A test client for one user. Requests reuse the test's app context, where Flask-Login caches
    the current user in ``g``: forget it before each request so several users can take turns."""

    def __init__(self, client):
        self._c = client

    def get(self, *a, **kw):
        g.pop("_login_user", None)
        return self._c.get(*a, **kw)

    def post(self, *a, **kw):
        g.pop("_login_user", None)
        return self._c.post(*a, **kw)


def _as(app, user):
    c = _Client(app.test_client())
    resp = c.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    return c


def _local(moment):
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def test_bid_pages_from_submission_to_contract(app, world):
    scenario = make_listing(world.owner_org, title="智慧病房场景")
    sme, owner = _as(app, world.sme), _as(app, world.owner)
    page = sme.get(f"/deals/scenarios/{scenario.ref}/bid")
    assert page.status_code == 200 and "提交揭榜方案" in page.get_data(as_text=True)
    bad = sme.post(f"/deals/scenarios/{scenario.ref}/bid", data={"approach": "方案", "price_cny": "1.234", "timeline": "3个月"})
    assert bad.status_code == 200 and "金额最多两位小数" in bad.get_data(as_text=True)
    resp = sme.post(
        f"/deals/scenarios/{scenario.ref}/bid",
        data={"approach": "方案", "price_cny": "15万", "timeline": "3个月", "attachments": [(io.BytesIO(MINIMAL_PDF), "方案.pdf")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    bid = db.session.query(Bid).one()
    assert bid.price_cny == 150000  # typed as 15万: the one money parser
    # the same SME is sent to its existing bid instead of a second one
    assert sme.get(f"/deals/scenarios/{scenario.ref}/bid").headers["Location"].endswith(f"/deals/bids/{bid.id}/edit")
    att = sme.get(f"/deals/bids/{bid.id}/attachments/{bid.attachments[0]['sha256']}")
    assert att.status_code == 200 and att.data == MINIMAL_PDF
    assert _as(app, world.other_sme).get(f"/deals/bids/{bid.id}").status_code == 403
    assert "方案.pdf" in sme.get(f"/deals/bids/{bid.id}/edit").get_data(as_text=True)
    r = sme.post(f"/deals/bids/{bid.id}/edit", data={"approach": "新方案", "price_cny": "150000", "timeline": "3个月"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).revision == 2 and len(db.session.get(Bid, bid.id).attachments) == 1
    assert owner.post(f"/deals/bids/{bid.id}/messages", data={"body": "能否提前交付？"}).status_code == 302
    assert "能否提前交付" in sme.get(f"/deals/bids/{bid.id}").get_data(as_text=True)
    listing_page = owner.get(f"/deals/scenarios/{scenario.ref}/bids").get_data(as_text=True)
    assert world.sme_org.name in listing_page
    assert sme.post(f"/deals/bids/{bid.id}/award").status_code == 403  # the bidder cannot award itself
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).status == "submitted"
    owner.post(f"/deals/bids/{bid.id}/award", data={"note": ""})
    db.session.expire_all()
    contract = db.session.query(Contract).one()
    body = owner.get(f"/deals/contracts/{contract.id}").get_data(as_text=True)
    assert "¥150,000.00" in body
    # no signed file yet: the page says to upload it before confirming, instead of a button that refuses
    assert 'id="confirm-needs-document"' in body and 'id="confirm-contract"' not in body
    r = owner.post(f"/deals/contracts/{contract.id}", data={"t-amount_cny": "150000",
                                                               "t-schedule": "2027-03-01 50000 首付款\n2027-06-01 90000 尾款", "t-submit": "1"})
    assert r.status_code == 200 and "不一致" in r.get_data(as_text=True)
    r = sme.post(f"/deals/contracts/{contract.id}", data={"d-document": (io.BytesIO(MINIMAL_PDF), "合同.pdf"), "d-submit": "1"},
                 content_type="multipart/form-data")
    assert r.status_code == 302
    assert 'id="confirm-contract"' in sme.get(f"/deals/contracts/{contract.id}").get_data(as_text=True)
    sme.post(f"/deals/contracts/{contract.id}/confirm")
    owner.post(f"/deals/contracts/{contract.id}/confirm")
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "active"
    assert sme.get(f"/deals/contracts/{contract.id}/document").data == MINIMAL_PDF
    dash = sme.get("/deals/").get_data(as_text=True)
    assert "智慧病房场景" in dash and "导出 XLSX" in dash
    assert sme.get("/deals/export.xlsx").status_code == 200
    assert "智慧病房场景" in sme.get("/deals/export.csv").data.decode("utf-8-sig")
    assert sme.get("/deals/export.pdf").data.startswith(b"%PDF")
    assert sme.get("/deals/export.ods").status_code == 404


def test_booking_pages_and_calendars(app, world):
    res = make_listing(world.owner_org, kind="instrument", title="场发射扫描电镜", rate_cny_per_hour=Decimal("500"))
    sme, owner = _as(app, world.sme), _as(app, world.owner)
    r = owner.post(f"/deals/resources/{res.ref}/availability", data={
        "a-mon": "09:00-17:00", "a-tue": "09:00-17:00", "a-wed": "25:00-26:00", "a-min_hours": "1", "a-max_hours": "6",
        "a-lead_time_hours": "24", "a-free_cancel_hours": "24", "a-submit": "1"})
    assert r.status_code == 200 and "时段“25:00-26:00”无效" in r.get_data(as_text=True)
    r = owner.post(f"/deals/resources/{res.ref}/availability", data={
        "a-mon": "09:00-17:00", "a-tue": "09:00-17:00", "a-wed": "09:00-17:00", "a-thu": "09:00-17:00", "a-fri": "09:00-17:00",
        "a-min_hours": "1", "a-max_hours": "6", "a-lead_time_hours": "24", "a-free_cancel_hours": "24", "a-submit": "1"})
    assert r.status_code == 302
    assert sme.get(f"/deals/resources/{res.ref}/availability").status_code == 403
    start = next_weekday_at(9)
    form = {"start_at": _local(start), "end_at": _local(start + dt.timedelta(hours=8)), "purpose": "形貌表征", "sample_description": "薄膜"}
    r = sme.post(f"/deals/resources/{res.ref}/book", data=form)
    assert r.status_code == 200 and "不能超过 6 小时" in r.get_data(as_text=True)
    r = sme.post(f"/deals/resources/{res.ref}/book", data={**form, "end_at": _local(start + dt.timedelta(hours=2)), "operator_needed": "y"})
    assert r.status_code == 302
    booking = db.session.query(Booking).one()
    assert booking.operator_needed and booking.start_at == start
    r = _as(app, world.other_sme).post(f"/deals/resources/{res.ref}/book", data={**form, "end_at": _local(start + dt.timedelta(hours=1))})
    assert r.status_code == 200 and "该时段已被预约" in r.get_data(as_text=True)
    owner.post(f"/deals/bookings/{booking.id}/approve")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "approved"
    ics = owner.get(f"/deals/resources/{res.ref}/calendar.ics")
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8" and "场发射扫描电镜 · " + world.sme_org.name in ics.get_data(as_text=True)
    assert "已占用" in _as(app, world.other_sme).get(f"/deals/resources/{res.ref}/calendar.ics").get_data(as_text=True)
    assert "BEGIN:VEVENT" in sme.get("/deals/calendar.ics").get_data(as_text=True)
    util = owner.get("/deals/utilisation").get_data(as_text=True)
    assert "场发射扫描电镜" in util
    assert sme.get("/deals/utilisation").status_code == 403
    assert "审批预约" not in owner.get("/deals/").get_data(as_text=True)  # approved: nothing waits
    assert owner.get(f"/deals/resources/{res.ref}/bookings").status_code == 200


def test_data_application_pages(app, world, make_org, make_user):
    gov = make_org(kind="government")
    gov_admin = make_user(role=Role.ORG_ADMIN, org=gov)
    open_data = make_listing(gov, kind="public_data", open_mode="unconditional", title="公交线路数据")
    cond = make_listing(gov, kind="public_data", title="医保结算数据")
    sme, owner = _as(app, world.sme), _as(app, gov_admin)
    assert "无需申请" in sme.get(f"/deals/data/{open_data.ref}/apply").get_data(as_text=True)
    assert "公交线路数据" in sme.get("/deals/").get_data(as_text=True)
    today = dt.date.today()
    r = sme.post(f"/deals/data/{cond.ref}/apply", data={"purpose": "分析", "fields": "病种、费用", "period_start": today.isoformat(),
                                                       "period_end": (today + dt.timedelta(days=90)).isoformat(), "mode": "authorised"})
    assert r.status_code == 302
    app_row = db.session.query(DataApplication).one()
    r = owner.post(f"/deals/applications/{app_row.id}", data={"outcome": "reject", "reason": ""})
    assert r.status_code == 200 and "请填写拒绝原因" in r.get_data(as_text=True)
    r = owner.post(f"/deals/applications/{app_row.id}", data={"outcome": "approve", "fee_cny": "5000",
                                                             "valid_from": today.isoformat(),
                                                             "valid_until": (today + dt.timedelta(days=30)).isoformat()})
    assert r.status_code == 302
    assert "医保结算数据" in sme.get("/deals/").get_data(as_text=True)
    assert db.session.query(Contract).one().kind == "data_access"


def test_anonymous_and_unknown(client, world):
    assert client.get("/deals/").status_code in (302, 401)
    scenario = make_listing(world.owner_org)
    del scenario
    c = client
    c.post("/auth/login", data={"email": world.sme.email, "password": PASSWORD})
    assert c.get("/deals/scenarios/NOPE/bid").status_code == 404
    assert c.get("/deals/bids/999").status_code == 404
    assert c.get("/deals/contracts/999").status_code == 404
