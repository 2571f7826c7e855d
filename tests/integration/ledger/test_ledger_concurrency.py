"""Concurrent payments, refunds, confirmations and resubmissions, on SQLite (a file database, one
connection per thread) and on PostgreSQL: every request succeeds or is refused (409/422), none
fails (a 500), no write is lost, and the chain verifies afterwards (issue 8, item 7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.errors import Conflict
from market.extensions import db
from market.ledger import chain, services
from models.deals import Contract
from models.ledger import LedgerEntry, LedgerEvent
from models.users import User
from tests.concurrency import run_parallel, tally
from tests.ledger_helpers import NOW, PAID


def _entries() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def test_concurrent_confirmations_record_exactly_one(app, world):
    w = world
    entry = services.record_payment(w.renter_user, w.contract, amount=Decimal("100"), paid_at=PAID, now=NOW)
    db.session.commit()
    entry_id, user_id = entry.id, w.provider_user.id

    def work(i):
        user = db.session.get(User, user_id)
        services.confirm(user, db.session.get(LedgerEntry, entry_id), now=NOW + dt.timedelta(seconds=i))
        return i

    outcomes = run_parallel(app, 8, work)
    assert tally(outcomes) == {"ok": 1, "conflict": 7}, outcomes
    db.session.expire_all()
    n_events = db.session.execute(select(func.count()).select_from(LedgerEvent).where(
        LedgerEvent.entry_id == entry_id, LedgerEvent.kind == "payee_confirmed")).scalar_one()
    assert n_events == 1
    assert chain.verify().ok


def test_thirty_concurrent_payments_all_recorded(app, world):
    """The probe: 30 parallel payments on SQLite gave 19 x 500 (UNIQUE on seq)."""
    w = world
    contract_id, user_ids = w.contract.id, [w.renter_user.id, w.provider_user.id]

    def work(i):
        user = db.session.get(User, user_ids[i % 2])
        contract = db.session.get(Contract, contract_id)
        return services.record_payment(user, contract, amount=Decimal(100 + i), paid_at=PAID, now=NOW).seq

    outcomes = run_parallel(app, 30, work)
    assert tally(outcomes) == {"ok": 30}, outcomes
    assert sorted(o[1] for o in outcomes) == list(range(1, 31))
    assert _entries() == 30
    res = chain.verify()
    assert res.ok and res.entries == 30 and res.events == 30, res.problems


def test_twenty_concurrent_refunds_never_exceed_the_original(app, world):
    """The probe: 20 parallel refunds on SQLite gave 10 x 500. 10 x 100 fit in 1000; the rest are refused."""
    w = world
    entry = services.record_payment(w.renter_user, w.contract, amount=Decimal("1000"), paid_at=PAID, now=NOW)
    db.session.commit()
    entry_id, user_ids = entry.id, [w.renter_user.id, w.provider_user.id]

    def work(i):
        user = db.session.get(User, user_ids[i % 2])
        original = db.session.get(LedgerEntry, entry_id)
        return services.record_refund(user, original, amount=Decimal("100"), paid_at=PAID, now=NOW).ref

    outcomes = run_parallel(app, 20, work)
    assert tally(outcomes) == {"ok": 10, "refused": 10}, outcomes
    assert all("超过原付款剩余可冲正金额" in msg for kind, msg in outcomes if kind == "refused"), outcomes
    assert len({ref for kind, ref in outcomes if kind == "ok"}) == 10
    db.session.expire_all()
    assert chain.remaining(db.session.get(LedgerEntry, entry_id)) == Decimal("0.00")
    assert _entries() == 11
    assert chain.verify().ok


def test_one_idempotency_key_submitted_concurrently_records_once(app, world):
    """The probe: reusing one idempotency key concurrently gave 500 instead of 409."""
    w = world
    contract_id, user_ids = w.contract.id, [w.renter_user.id, w.provider_user.id]

    def work(i):
        user = db.session.get(User, user_ids[i % 2])
        contract = db.session.get(Contract, contract_id)
        return services.record_payment(user, contract, amount=Decimal("500"), paid_at=PAID, now=NOW,
                                       idempotency_key="form-7f3a").seq

    outcomes = run_parallel(app, 10, work)
    assert tally(outcomes) == {"ok": 1, "conflict": 9}, outcomes
    assert {msg for kind, msg in outcomes if kind == "conflict"} == {"这笔付款已经登记过了（重复提交）。"}
    assert _entries() == 1
    assert chain.verify().ok


def test_one_refund_idempotency_key_submitted_concurrently_records_once(app, world):
    w = world
    entry = services.record_payment(w.renter_user, w.contract, amount=Decimal("1000"), paid_at=PAID, now=NOW)
    db.session.commit()
    entry_id, user_id = entry.id, w.renter_user.id

    def work(i):
        user = db.session.get(User, user_id)
        original = db.session.get(LedgerEntry, entry_id)
        return services.record_refund(user, original, amount=Decimal("10"), paid_at=PAID, now=NOW,
                                      idempotency_key="refund-1").ref

    outcomes = run_parallel(app, 8, work)
    assert tally(outcomes) == {"ok": 1, "conflict": 7}, outcomes
    assert {msg for kind, msg in outcomes if kind == "conflict"} == {"这笔退款已经登记过了（重复提交）。"}
    assert _entries() == 2
    assert chain.verify().ok


def test_concurrent_payments_never_exceed_the_contract(app, world):
    """Item 10 under concurrency: 10 x 20,000 at once on a 120,000 contract -> exactly 6 recorded."""
    w = world
    contract = Contract(kind="rental", payer_id=w.renter.id, payee_id=w.provider.id, title="电镜租用",
                        amount_cny=Decimal("120000.00"), status="active")
    db.session.add(contract)
    db.session.commit()
    contract_id, user_id = contract.id, w.renter_user.id

    def work(i):
        user = db.session.get(User, user_id)
        contract = db.session.get(Contract, contract_id)
        return services.record_payment(user, contract, amount=Decimal("20000"), paid_at=PAID, now=NOW).seq

    outcomes = run_parallel(app, 10, work)
    assert tally(outcomes) == {"ok": 6, "refused": 4}, outcomes
    assert all("超出合同金额" in msg for kind, msg in outcomes if kind == "refused"), outcomes
    assert services.contract_paid(contract_id) == Decimal("120000.00")
    assert chain.verify().ok


def test_a_duplicate_key_that_reaches_the_database_is_a_409(world, monkeypatch):
    """Constraint only: even if no check caught a reused key, UNIQUE(idempotency_key) answers 409, not 500."""
    w = world
    services.record_payment(w.renter_user, w.contract, amount=Decimal("100"), paid_at=PAID, now=NOW,
                            idempotency_key="k-dup")
    db.session.commit()
    monkeypatch.setattr(services, "_check_idempotency", lambda key, duplicate: key)
    with pytest.raises(Conflict) as err:
        services.record_payment(w.provider_user, w.contract, amount=Decimal("200"), paid_at=PAID, now=NOW,
                                idempotency_key="k-dup")
    assert err.value.message == "这笔付款已经登记过了（重复提交）。"
    assert _entries() == 1
    assert chain.verify().ok


def test_sqlite_write_lock_not_coming_in_time_is_a_409(world, monkeypatch):
    """Another process holds SQLite's write lock for longer than the append will wait: "busy, try again"."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    import sqlite3

    monkeypatch.setattr(chain, "SQLITE_BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db.engine.url.database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Conflict) as err:
            services.record_payment(world.renter_user, world.contract, amount=Decimal("100"), paid_at=PAID, now=NOW)
        assert err.value.message == "台账正忙，请稍后重试。"
    finally:
        blocker.rollback()
        blocker.close()
        db.session.remove()
        db.engine.dispose()  # no pooled connection keeps the short timeout
    assert _entries() == 0
