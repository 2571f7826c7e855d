"""Ledger pages and actions through HTTP: record, confirm, dispute, refund, dashboards, exports."""

from __future__ import annotations

import io

from flask import render_template_string
from openpyxl import load_workbook
from sqlalchemy import select

from market.extensions import db
from market.ledger import services
from models.ledger import LedgerEntry
from tests.ledger_helpers import PDF


def record(client, w, amount="120000.00", key="k1", paid_at="2026-03-01T10:00"):
    data = {"amount_cny": amount, "paid_at": paid_at, "idempotency_key": key, "next": "/ledger/",
            "evidence_contract": (io.BytesIO(PDF + b"c"), "合同.pdf"),
            "evidence_invoice": (io.BytesIO(PDF + b"i"), "发票.pdf"),
            "evidence_payment_record": (io.BytesIO(PDF + b"p"), "回单.pdf")}
    return client.post(f"/ledger/contracts/{w.contract.id}/payments", data=data,
                       content_type="multipart/form-data", follow_redirects=True)


def test_record_confirm_and_dashboards(client, login, world, app):
    w = world
    login(w.renter_user)
    page = record(client, w).get_data(as_text=True)
    assert "付款已登记" in page
    entry = db.session.execute(select(LedgerEntry)).scalar_one()
    assert entry.paid_at.isoformat() == "2026-03-01T02:00:00+00:00"  # the form is Beijing time
    assert "重复" in record(client, w).get_data(as_text=True)  # same form submitted twice
    assert "两位小数" in record(client, w, amount="1.234", key="k2").get_data(as_text=True)
    client.post("/auth/logout")

    login(w.provider_user)
    dash = client.get("/ledger/").get_data(as_text=True)
    assert entry.ref in dash and 'id="pending-count">1<' in dash
    resp = client.post(f"/ledger/entries/{entry.id}/confirm", data={"next": "/ledger/"}, follow_redirects=True)
    assert "已确认" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert services.is_counted(db.session.get(LedgerEntry, entry.id))
    detail = client.get(f"/ledger/entries/{entry.id}").get_data(as_text=True)
    assert "收款方已确认" in detail and "发票" in detail
    csv_text = client.get("/ledger/export.csv").get_data().decode("utf-8-sig")
    assert entry.ref in csv_text and "120000.00" in csv_text
    wb = load_workbook(io.BytesIO(client.get("/ledger/export.xlsx").get_data()))
    assert wb.active.cell(row=2, column=1).value == entry.ref
    sha = entry.evidence[0]["sha256"]
    assert client.get(f"/ledger/entries/{entry.id}/evidence/{sha}").status_code == 200
    client.post(f"/ledger/entries/{entry.id}/dispute", data={"reason": "发票抬头错误"})
    client.post("/auth/logout")

    login(w.reviewer)
    review = client.get("/ledger/review").get_data(as_text=True)
    assert "发票抬头错误" in review
    client.post(f"/ledger/entries/{entry.id}/resolve", data={"reason": "已重开发票"})
    db.session.expire_all()
    assert db.session.get(LedgerEntry, entry.id).dispute_resolved_at is not None


def test_outsider_sees_nothing_and_cannot_act(client, login, world):
    w = world
    login(w.renter_user)
    record(client, w)
    entry = db.session.execute(select(LedgerEntry)).scalar_one()
    client.post("/auth/logout")
    login(w.outsider_user)
    assert client.get(f"/ledger/entries/{entry.id}").status_code == 403
    page = client.post(f"/ledger/entries/{entry.id}/confirm", follow_redirects=True).get_data(as_text=True)
    assert "不是这笔付款的当事方" in page or "权限" in page
    db.session.expire_all()
    assert db.session.get(LedgerEntry, entry.id).payee_confirmed_at is None
    refund = client.post(f"/ledger/entries/{entry.id}/refund", data={"amount_cny": "1", "paid_at": "2026-03-02T10:00"},
                         follow_redirects=True).get_data(as_text=True)
    assert "权限" in refund or "双方" in refund
    assert client.get("/ledger/review").status_code == 403


def test_contract_partial_renders(app, client, login, world):
    w = world
    login(w.renter_user)
    record(client, w)
    with app.test_request_context(f"/deals/contracts/{w.contract.id}"):
        from flask_login import login_user

        login_user(w.provider_user)
        html = render_template_string("{% include 'ledger/_contract_payments.html' %}", contract=w.contract)
    assert 'id="record-payment-form"' in html and 'data-action="confirm"' in html and "LE00000001" in html


def test_the_form_refuses_a_payment_beyond_the_contract_in_both_languages(client, login, world):
    w = world
    login(w.renter_user)
    page = record(client, w, amount="900000000", key="big").get_data(as_text=True)
    assert "付款金额超出合同金额：合同金额 1,000,000.00 元" in page
    client.get("/lang/en")
    page = record(client, w, amount="900000000", key="big2").get_data(as_text=True)
    assert "exceeds the contract amount" in page and "1,000,000.00" in page
    assert db.session.execute(select(LedgerEntry)).first() is None


def test_a_refused_payment_keeps_its_amount_and_time(client, login, world):
    """Over the contract's amount: the message was clear, but the amount and the time came back blank."""
    w = world
    login(w.renter_user)
    page = f"/deals/contracts/{w.contract.id}"
    data = {"amount_cny": "2000000.00", "paid_at": "2026-03-01T10:00", "idempotency_key": "k9", "next": page,
            "evidence_invoice": (io.BytesIO(PDF + b"i9"), "发票.pdf")}
    resp = client.post(f"/ledger/contracts/{w.contract.id}/payments", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(page + "?")
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    form = html.split('id="record-payment-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="2000000.00"' in form and 'value="2026-03-01T10:00"' in form
    assert db.session.execute(select(LedgerEntry)).first() is None


def test_a_contract_paid_in_full_offers_no_payment_form(client, login, world):
    """The form stayed after the last payment (and could only refuse the next)."""
    from decimal import Decimal

    w = world
    w.contract.amount_cny = Decimal("120000.00")
    db.session.commit()
    login(w.renter_user)
    page = f"/deals/contracts/{w.contract.id}"
    assert 'id="record-payment-form"' in client.get(page).get_data(as_text=True)
    record(client, w, amount="120000.00")
    html = client.get(page).get_data(as_text=True)
    assert 'id="contract-paid-in-full"' in html and 'id="record-payment-form"' not in html
