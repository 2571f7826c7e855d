"""Dates in year 0001 or 9999 are refused with a clear message, never a 500 (issue 8, item 9).

Such a date parses, then overflows when it is moved between Beijing time and UTC. Every form that
takes a date (payments and refunds, bookings, resource blocks, data applications, listing deadlines,
the audit filter) and the import parser answer with the one window message of ``market.dates``.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from market import imports
from market.extensions import db
from models.deals import Booking, Contract, DataApplication
from models.ledger import LedgerEntry
from models.listings import Listing
from models.users import Role
from tests.integration.deals.helpers import make_listing
from tests.ledger_helpers import PDF

WINDOW = "日期必须在 2000-01-01 至 2100-12-31 之间"
ODD_TIMES = ["0001-01-01T00:00", "9999-12-31T23:59"]
ODD_DAYS = ["0001-01-01", "9999-12-31"]


def _count(model) -> int:
    return db.session.query(model).count()


@pytest.mark.parametrize("paid_at", ODD_TIMES)
def test_payment_with_year_1_or_9999(client, login, make_org, make_user, paid_at):
    renter, provider = make_org(kind="sme"), make_org(kind="university", size=None)
    contract = Contract(kind="rental", payer_id=renter.id, payee_id=provider.id, title="电镜租用",
                        amount_cny=Decimal("120000.00"), status="active")
    db.session.add(contract)
    db.session.commit()
    login(make_user(Role.ORG_ADMIN, org=renter))
    data = {"amount_cny": "1000.00", "paid_at": paid_at, "idempotency_key": "k1", "next": "/ledger/",
            "evidence_contract": (io.BytesIO(PDF + b"c"), "合同.pdf"),
            "evidence_invoice": (io.BytesIO(PDF + b"i"), "发票.pdf"),
            "evidence_payment_record": (io.BytesIO(PDF + b"p"), "回单.pdf")}
    resp = client.post(f"/ledger/contracts/{contract.id}/payments", data=data, content_type="multipart/form-data",
                       follow_redirects=True)
    assert resp.status_code < 500 and WINDOW in resp.get_data(as_text=True)
    assert _count(LedgerEntry) == 0


@pytest.mark.parametrize("moment", ODD_TIMES)
def test_booking_and_block_with_year_1_or_9999(client, login, make_org, make_user, moment):
    provider = make_org(kind="leading_firm")
    resource = make_listing(provider, kind="instrument", title="电镜")
    login(make_user(Role.SME_MEMBER))
    form = {"start_at": moment, "end_at": "2030-01-01T10:00", "purpose": "测试", "sample_description": "薄膜"}
    for data in (form, {**form, "start_at": "2030-01-01T09:00", "end_at": moment}):
        resp = client.post(f"/deals/resources/{resource.ref}/book", data=data)
        assert resp.status_code == 200 and WINDOW in resp.get_data(as_text=True)
    assert _count(Booking) == 0
    client.post("/auth/logout")
    login(make_user(Role.ORG_ADMIN, org=provider))
    resp = client.post(f"/deals/resources/{resource.ref}/availability",
                       data={"b-start_at": moment, "b-end_at": "2030-01-01T10:00", "b-reason": "检修", "b-submit": "1"})
    assert resp.status_code == 200 and WINDOW in resp.get_data(as_text=True)


@pytest.mark.parametrize("day", ODD_DAYS)
def test_data_application_with_year_1_or_9999(client, login, make_org, make_user, day):
    gov = make_org(kind="government")
    data = make_listing(gov, kind="public_data", title="医保结算数据")
    login(make_user(Role.SME_MEMBER))
    resp = client.post(f"/deals/data/{data.ref}/apply", data={
        "purpose": "分析", "fields": "病种", "period_start": day, "period_end": "2030-01-01", "mode": "authorised"})
    assert resp.status_code == 200 and WINDOW in resp.get_data(as_text=True)
    assert _count(DataApplication) == 0


@pytest.mark.parametrize("deadline", ODD_TIMES)
def test_listing_deadline_with_year_1_or_9999(client, login, make_org, make_user, deadline):
    login(make_user(role=Role.ORG_ADMIN, org=make_org(kind="leading_firm")))
    resp = client.post("/listings/new/scenario", data={
        "title": "场景", "description": "说明", "track": "other", "scenario_mode": "crowdsourcing", "deadline": deadline})
    assert resp.status_code == 200 and WINDOW in resp.get_data(as_text=True)
    assert _count(Listing) == 0


@pytest.mark.parametrize("day", ODD_DAYS)
def test_audit_filter_with_year_1_or_9999(client, login, make_user, day):
    login(make_user(role=Role.DISTRICT_ADMIN))
    resp = client.get("/admin/audit", query_string={"date_from": day, "date_to": day})
    assert resp.status_code == 200 and WINDOW in resp.get_data(as_text=True)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
def test_imported_times_with_year_1_or_9999(app_ctx, value):
    with app_ctx.test_request_context(), pytest.raises(imports.FieldError) as err:
        imports.aware_time({"paid_at": value}, "paid_at")
    assert WINDOW in err.value.message


def test_ordinary_dates_still_pass(app_ctx):
    with app_ctx.test_request_context():
        moment = imports.aware_time({"t": "2026-03-01T10:00:00+08:00"}, "t")
    assert moment == dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)
