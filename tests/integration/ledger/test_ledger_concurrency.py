"""Concurrent confirmations, appends and refunds on PostgreSQL: no corrupted state, no forked chain."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.errors import DomainError
from market.extensions import db
from market.ledger import chain, services
from models.deals import Contract
from models.ledger import LedgerEntry, LedgerEvent
from models.users import User
from tests.ledger_helpers import NOW, PAID

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(app_ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")


def run_parallel(app, n, work):
    """Run ``work(i)`` in ``n`` threads, each with its own app context and session, all at once."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def target(i):
        with app.app_context():
            try:
                barrier.wait()
                outcomes[i] = ("ok", work(i))
            except DomainError as err:
                db.session.rollback()
                outcomes[i] = ("refused", err.message)
            except Exception as err:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcomes[i] = ("error", repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_concurrent_confirmations_record_exactly_one(app, world):
    w = world
    entry = services.record_payment(w.renter_user, w.contract, amount=Decimal("100"), paid_at=PAID, now=NOW)
    entry_id, user_id = entry.id, w.provider_user.id

    def work(i):
        user = db.session.get(User, user_id)
        services.confirm(user, db.session.get(LedgerEntry, entry_id), now=NOW + dt.timedelta(seconds=i))
        return i

    outcomes = run_parallel(app, 8, work)
    assert [o[0] for o in outcomes].count("ok") == 1, outcomes
    assert all(o[0] in ("ok", "refused") for o in outcomes), outcomes
    db.session.expire_all()
    n_events = db.session.execute(select(func.count()).select_from(LedgerEvent).where(
        LedgerEvent.entry_id == entry_id, LedgerEvent.kind == "payee_confirmed")).scalar_one()
    assert n_events == 1
    assert chain.verify().ok


def test_concurrent_appends_do_not_fork_the_chain(app, world):
    w = world
    contract_id, user_ids = w.contract.id, [w.renter_user.id, w.provider_user.id]

    def work(i):
        user = db.session.get(User, user_ids[i % 2])
        contract = db.session.get(Contract, contract_id)
        return services.record_payment(user, contract, amount=Decimal(100 + i), paid_at=PAID, now=NOW).seq

    outcomes = run_parallel(app, 12, work)
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert sorted(o[1] for o in outcomes) == list(range(1, 13))
    res = chain.verify()
    assert res.ok and res.entries == 12 and res.events == 12


def test_concurrent_refunds_never_exceed_the_original(app, world):
    w = world
    entry = services.record_payment(w.renter_user, w.contract, amount=Decimal("1000"), paid_at=PAID, now=NOW)
    entry_id, user_id = entry.id, w.provider_user.id

    def work(i):
        user = db.session.get(User, user_id)
        original = db.session.get(LedgerEntry, entry_id)
        return services.record_refund(user, original, amount=Decimal("300"), paid_at=PAID, now=NOW).ref

    outcomes = run_parallel(app, 6, work)
    assert [o[0] for o in outcomes].count("ok") == 3, outcomes  # 3 x 300 fits in 1000, a 4th does not
    assert all(o[0] in ("ok", "refused") for o in outcomes), outcomes
    db.session.expire_all()
    assert chain.remaining(db.session.get(LedgerEntry, entry_id)) == Decimal("100.00")
    assert chain.verify().ok
