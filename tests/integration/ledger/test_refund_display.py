"""Issue 13 friction: a refund reads 退款 ¥20,000.00 on the ledger and calculation-sheet pages, never ¥-20,000.00."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from market.extensions import db
from market.ledger import ledger_amount, services
from tests.ledger_helpers import NOW, PAID, full_evidence


def test_ledger_amount_filter(app_ctx):
    assert ledger_amount(Decimal("-20000")) == "退款 ¥20,000.00"
    assert ledger_amount(Decimal("120000")) == "¥120,000.00"
    assert ledger_amount("-20000.00") == "退款 ¥20,000.00"  # a frozen claim snapshot's money text


def test_refund_reads_as_a_refund_on_the_pages(client, login, world):
    w = world
    e = services.record_payment(w.renter_user, w.contract, amount=Decimal("120000.00"), paid_at=PAID,
                                uploads=full_evidence(), idempotency_key=None, now=NOW)
    services.confirm(w.provider_user, e, now=NOW)
    r = services.record_refund(w.provider_user, e, amount=Decimal("20000"), paid_at=PAID + dt.timedelta(days=10), now=NOW)
    db.session.commit()
    login(w.provider_user)
    for url in ("/ledger/", f"/ledger/entries/{r.id}", f"/ledger/entries/{e.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "退款 ¥20,000.00" in page, url
        assert "¥-20,000.00" not in page, url
    client.post("/auth/logout")
    # The renter's calculation sheet, as the district reviewer opens it, lists the refund (counted or excluded) in
    # the same words.
    login(w.reviewer)
    for url in (f"/subsidies/{w.renter.id}/{PAID.year}",):
        page = client.get(url).get_data(as_text=True)
        assert "退款 ¥20,000.00" in page, url
        assert "¥-20,000.00" not in page, url
