"""Ledger services: record, confirm, dispute, refund, evidence, what counts (POLICY.md interp. 1)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.domain.completeness import Finding, Reason
from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from market.ledger import chain, services
from market.ledger.services import Upload
from models.ledger import LedgerEntry, LedgerEvent
from models.notifications import Notification
from tests.ledger_helpers import NOW, PAID, full_evidence, pdf


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def pay(w, amount="120000.00", uploads=None, key=None, user=None, paid_at=PAID):
    return services.record_payment(user or w.renter_user, w.contract, amount=Decimal(amount), paid_at=paid_at,
                                   uploads=full_evidence() if uploads is None else uploads,
                                   idempotency_key=key, now=NOW)


def test_payment_counts_only_when_both_confirmed_with_full_evidence(world):
    w = world
    e = pay(w)
    assert e.payer_confirmed_at is not None and e.payee_confirmed_at is None
    assert e.amount_cny == Decimal("120000.00") and e.kind == "rental"
    assert not services.is_counted(e)
    assert Finding(Reason.PAYEE_NOT_CONFIRMED) in services.completeness(e)
    # the other side was told
    assert db.session.execute(select(Notification).where(Notification.user_id == w.provider_user.id)).scalar()
    services.confirm(w.provider_user, e, now=NOW)
    assert services.is_counted(e)
    assert [x.ref for x in services.counted_entries(org_id=w.renter.id, year=2026, role="payer")] == [e.ref]
    assert services.counted_entries(org_id=w.renter.id, year=2025) == []
    assert chain.verify().ok


def test_missing_invoice_does_not_count_until_added(world):
    w = world
    e = pay(w, uploads=[pdf("contract"), pdf("payment_record")])
    services.confirm(w.provider_user, e, now=NOW)
    assert services.completeness(e) == (Finding(Reason.MISSING_EVIDENCE, ("invoice",)),)
    assert services.count_problems(e) == ["缺少凭证：发票"]  # the words a screen shows
    services.add_evidence(w.provider_user, e, [pdf("invoice")], now=NOW)
    db.session.expire_all()
    assert services.is_counted(db.session.get(LedgerEntry, e.id))
    assert chain.verify().ok


def test_signed_contract_on_the_platform_is_the_contract_evidence(world, app):
    """Nobody uploads the same contract twice: the contract's signed PDF is the payment's contract evidence."""
    w = world
    without = pay(w, uploads=[pdf("invoice"), pdf("payment_record")], key="k-without")
    assert services.missing_evidence(without) == {"contract"}  # no signed document on the contract yet

    from market import evidence
    signed = evidence.store(io.BytesIO(b"%PDF-1.4\n% signed contract\n"), "租用合同.pdf", field="document")
    w.contract.signed_document_sha256, w.contract.signed_document_filename = signed.sha256, signed.filename
    db.session.commit()
    e = pay(w, uploads=[pdf("invoice"), pdf("payment_record")], key="k-with")
    item = next(i for i in e.evidence if i["type"] == "contract")
    assert (item["sha256"], item["filename"], item["size"]) == (signed.sha256, "租用合同.pdf", signed.size)
    services.confirm(w.provider_user, e, now=NOW)
    assert services.is_counted(e)
    # an uploaded copy takes precedence over the platform's
    e2 = pay(w, uploads=full_evidence("x"), key="k-upload")
    assert [i["filename"] for i in e2.evidence if i["type"] == "contract"] == ["contractx.pdf"]
    assert chain.verify().ok
    # and the reused file is checked like any other: tampering with it breaks verify
    evidence.path_for(signed.sha256).write_bytes(b"%PDF-1.4 forged")
    assert not chain.verify().ok


@pytest.mark.parametrize("amount,message", [
    ("0", "不能为零"), ("10.005", "两位小数"), ("1000000000.01", "上限"), ("-5", "退款"),
])
def test_bad_amounts_are_refused_and_nothing_saved(world, amount, message):
    with pytest.raises(ValidationError) as err:
        pay(world, amount=amount)
    assert message in err.value.message
    assert count(LedgerEntry) == 0 and count(LedgerEvent) == 0


def test_float_amounts_read_as_written_and_exponents_refused(world):
    """A JSON number arrives as a float: read as its shortest decimal form, never with binary noise."""
    entry = services.record_payment(world.renter_user, world.contract, amount=0.1, paid_at=PAID, now=NOW)
    assert entry.amount_cny == Decimal("0.10")
    with pytest.raises(ValidationError, match="科学计数法"):
        services.record_payment(world.renter_user, world.contract, amount=1e-05, paid_at=PAID, now=NOW)


def test_naive_or_future_paid_at_refused(world):
    with pytest.raises(ValidationError, match="时区"):
        pay(world, paid_at=dt.datetime(2026, 3, 1, 10, 0))
    with pytest.raises(ValidationError, match="晚于现在"):
        pay(world, paid_at=NOW + dt.timedelta(minutes=1))
    assert count(LedgerEntry) == 0


def test_same_payment_twice_is_refused(world):
    pay(world, key="form-123")
    with pytest.raises(Conflict, match="重复"):
        pay(world, key="form-123")
    assert count(LedgerEntry) == 1


def test_outsider_cannot_record_confirm_or_dispute(world):
    w = world
    with pytest.raises(PermissionDenied):
        pay(w, user=w.outsider_user)
    e = pay(w)
    with pytest.raises(PermissionDenied):
        services.confirm(w.outsider_user, e, now=NOW)
    with pytest.raises(PermissionDenied):
        services.dispute(w.outsider_user, e, "不认识", now=NOW)
    with pytest.raises(PermissionDenied):
        services.confirm(w.reviewer, e, now=NOW)  # district staff do not confirm for the parties
    assert count(LedgerEvent) == 1  # only the recorder's own confirmation


def test_confirming_twice_is_a_conflict(world):
    e = pay(world)
    with pytest.raises(Conflict):
        services.confirm(world.renter_user, e, now=NOW)


def test_draft_contract_takes_no_payment(world):
    world.contract.status = "draft"
    db.session.commit()
    with pytest.raises(ValidationError, match="合同生效"):
        pay(world)


def test_disallowed_or_oversized_evidence_refused(world, app):
    exe = Upload("invoice", io.BytesIO(b"MZ\x90\x00 not a pdf"), "invoice.exe")
    with pytest.raises(ValidationError, match="不支持的文件类型"):
        pay(world, uploads=[exe])
    with pytest.raises(ValidationError, match="凭证类型"):
        pay(world, uploads=[Upload("receipt", io.BytesIO(b"%PDF-1.4"), "x.pdf")])
    app.config["LEDGER_EVIDENCE_MAX_MB"] = 1
    try:
        big = Upload("invoice", io.BytesIO(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1)), "big.pdf")
        with pytest.raises(ValidationError, match="大小上限"):
            pay(world, uploads=[big])
    finally:
        app.config["LEDGER_EVIDENCE_MAX_MB"] = 10
    assert count(LedgerEntry) == 0


def test_dispute_stops_counting_until_resolved(world):
    w = world
    e = pay(w)
    services.confirm(w.provider_user, e, now=NOW)
    services.dispute(w.provider_user, e, "金额与发票不符", now=NOW)
    assert not services.is_counted(e)
    assert [x.ref for x in services.review_queue()["disputed"]] == [e.ref]
    assert db.session.execute(select(Notification).where(Notification.user_id == w.reviewer.id)).scalar()
    with pytest.raises(Conflict):
        services.dispute(w.renter_user, e, "again", now=NOW)
    with pytest.raises(PermissionDenied):
        services.resolve_dispute(w.renter_user, e, "我说没问题", now=NOW)  # not the disputer
    services.resolve_dispute(w.reviewer, e, "已核对发票，金额无误", now=NOW)
    assert services.is_counted(e)
    assert chain.verify().ok


def test_refunds_reverse_never_more_than_is_left(world):
    w = world
    e = pay(w)
    services.confirm(w.provider_user, e, now=NOW)
    later = PAID + dt.timedelta(days=10)
    r1 = services.record_refund(w.provider_user, e, amount=Decimal("20000"), paid_at=later, now=NOW)
    assert r1.amount_cny == Decimal("-20000.00") and r1.reverses_id == e.id and r1.payer_id == e.payer_id
    with pytest.raises(ValidationError, match="超过"):
        services.record_refund(w.provider_user, e, amount=Decimal("100000.01"), paid_at=later, now=NOW)
    services.record_refund(w.provider_user, e, amount=Decimal("100000.00"), paid_at=later, now=NOW)
    assert chain.remaining(e) == 0
    with pytest.raises(ValidationError, match="不能再被冲正"):
        services.record_refund(w.provider_user, r1, amount=Decimal("1"), paid_at=later, now=NOW)
    with pytest.raises(ValidationError, match="早于"):
        services.record_refund(w.provider_user, e, amount=Decimal("1"), paid_at=PAID - dt.timedelta(days=1), now=NOW)
    # the refunds net against the counted payment
    counted = services.counted_entries(org_id=w.renter.id, year=2026)
    assert sum(x.amount_cny for x in counted) == Decimal("0.00")
    assert count(LedgerEntry) == 3
    assert chain.verify().ok


def test_totals_by_local_year(world):
    w = world
    # 00:10 on 1 January 2026 in Beijing is 2025-12-31 16:10 UTC: it belongs to 2026 (interp. 5)
    new_year = dt.datetime(2025, 12, 31, 16, 10, tzinfo=dt.UTC)
    e = pay(w, paid_at=new_year)
    pay(w, amount="500.00", paid_at=dt.datetime(2025, 12, 31, 15, 50, tzinfo=dt.UTC), uploads=[])
    services.confirm(w.provider_user, e, now=NOW)
    totals = {(t.year, t.role): t for t in services.totals(w.renter.id)}
    assert totals[(2026, "payer")].counted == Decimal("120000.00")
    assert totals[(2025, "payer")].not_counted == Decimal("500.00")
    assert [x.ref for x in services.counted_entries(year=2026)] == [e.ref]


def test_a_payment_beyond_the_contract_amount_is_refused(world):
    """The probe: 900,000,000 was accepted on a 380,000 contract (issue 8, item 10)."""
    w = world
    from models.deals import Contract

    contract = Contract(kind="scenario_contract", payer_id=w.renter.id, payee_id=w.provider.id, title="场景合同",
                        amount_cny=Decimal("380000.00"), status="active")
    db.session.add(contract)
    db.session.commit()

    def pay_on(amount, key):
        return services.record_payment(w.renter_user, contract, amount=Decimal(amount), paid_at=PAID,
                                       uploads=full_evidence(key), idempotency_key=key, now=NOW)

    with pytest.raises(ValidationError) as err:
        pay_on("900000000", "big")
    assert err.value.field == "amount_cny"
    assert err.value.message == ("付款金额超出合同金额：合同金额 380,000.00 元，已登记付款（扣除退款）0.00 元，"
                                 "本次最多可登记 380,000.00 元。")
    assert count(LedgerEntry) == 0
    first = pay_on("300000", "p1")
    with pytest.raises(ValidationError) as err:
        pay_on("80000.01", "p2")
    assert "已登记付款（扣除退款）300,000.00 元，本次最多可登记 80,000.00 元" in err.value.message
    pay_on("80000", "p3")  # exactly the contract amount: accepted
    assert services.contract_paid(contract.id) == Decimal("380000.00")
    # a refund frees its amount again
    services.record_refund(w.provider_user, first, amount=Decimal("5000"), paid_at=PAID, now=NOW)
    pay_on("5000", "p4")
    with pytest.raises(ValidationError):
        pay_on("0.01", "p5")
    assert count(LedgerEntry) == 4
    assert chain.verify().ok
