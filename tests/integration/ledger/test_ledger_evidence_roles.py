"""One file is one piece of evidence: the same PDF as contract, invoice and payment record made an entry complete
(and count for a subsidy) on a single document."""

from __future__ import annotations

import io

import pytest

from market.errors import ValidationError
from market.extensions import db
from market.ledger import services as ledger
from market.ledger.services import Upload
from tests.ledger_helpers import NOW, PAID, PDF, full_evidence, pdf


def _same(doc_type: str) -> Upload:
    return Upload(doc_type, io.BytesIO(PDF + b"inv.pdf"), "inv.pdf")


def test_the_same_file_cannot_stand_for_two_kinds_of_evidence(world):
    w = world
    with pytest.raises(ValidationError) as err:
        ledger.record_payment(w.renter_user, w.contract, amount="1000.00", paid_at=PAID, now=NOW,
                              uploads=[_same("contract"), _same("invoice"), _same("payment_record")])
    assert err.value.field == "evidence" and err.value.message == (
        "同一个文件不能既作合同又作发票：合同、发票和付款凭证须分别上传。")
    db.session.rollback()
    # the entry recorded with its contract and invoice cannot get the invoice again as its payment record
    entry = ledger.record_payment(w.renter_user, w.contract, amount="1000.00", paid_at=PAID, now=NOW,
                                  uploads=[pdf("contract", "a"), _same("invoice")])
    db.session.commit()
    with pytest.raises(ValidationError, match="既作发票又作付款凭证"):
        ledger.add_evidence(w.provider_user, entry, [_same("payment_record")], now=NOW)
    db.session.rollback()
    ledger.add_evidence(w.provider_user, entry, [pdf("payment_record", "a"), _same("other")], now=NOW)  # "other" may repeat
    db.session.commit()
    db.session.refresh(entry)
    assert entry.evidence_types == {"contract", "invoice", "payment_record", "other"}
    # three files: fine as before
    ledger.record_payment(w.renter_user, w.contract, amount="500.00", paid_at=PAID, now=NOW, uploads=full_evidence("b"))
