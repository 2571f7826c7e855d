"""Tampering with any ledger row or evidence file makes `ledger verify` fail and name the entry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from market import evidence as evidence_store
from market.extensions import db
from market.ledger import chain, services
from models.deals import Contract
from models.ledger import LedgerChain, LedgerEntry, LedgerEvent
from models.listings import Listing
from models.organisations import Organisation
from tests.ledger_helpers import NOW, PAID, full_evidence

E, V = LedgerEntry.__table__, LedgerEvent.__table__


@pytest.fixture
def ledger(world):
    """Three entries: a confirmed payment (LE1), an unconfirmed one (LE2), a refund of LE1 (LE3)."""
    w = world
    e1 = services.record_payment(w.renter_user, w.contract, amount=Decimal("120000"), paid_at=PAID,
                                 uploads=full_evidence("a"), now=NOW)
    services.confirm(w.provider_user, e1, now=NOW)
    e2 = services.record_payment(w.renter_user, w.contract, amount=Decimal("5000"), paid_at=PAID,
                                 uploads=full_evidence("b"), now=NOW)
    e3 = services.record_refund(w.provider_user, e1, amount=Decimal("1000"), paid_at=PAID + dt.timedelta(days=1), now=NOW)
    db.session.commit()  # the fixture is the boundary
    assert chain.verify().ok
    return w, [e1.ref, e2.ref, e3.ref]


def tamper(*stmts) -> None:
    """Change rows behind the application's back (on PostgreSQL past the append-only triggers and
    the foreign keys: replica role)."""
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in stmts:
            conn.execute(stmt)


def first_broken():
    res = chain.verify()
    assert not res.ok
    return res.first


@pytest.mark.parametrize("column,value", [
    ("amount_cny", Decimal("120001.00")),
    ("payer_id", None),  # set to the payee below
    ("paid_at", dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)),
    ("kind", "scenario_contract"),
    ("ref", "FORGED"),
    ("evidence_json", "[]"),
    ("entry_hash", "f" * 64),
])
def test_tampering_an_entry_column_names_it(ledger, column, value):
    w, refs = ledger
    if column == "payer_id":
        value = w.provider.id
    tamper(update(E).where(E.c.seq == 2).values({column: value}))
    broken = first_broken()
    assert broken.entry_seq == 2
    assert broken.ref in (refs[1], "FORGED")


def test_tampering_listing_contract_or_reversed_entry_names_it(ledger, make_org):
    w, refs = ledger
    listing = Listing(ref="H01", kind="instrument", owner_id=w.provider.id, title="电镜", description="电镜")
    other = Contract(kind="rental", payer_id=w.renter.id, payee_id=w.provider.id, title="另一份合同",
                     amount_cny=Decimal("1.00"), status="active")
    db.session.add_all([listing, other])
    db.session.commit()
    ids = dict(db.session.execute(db.select(LedgerEntry.seq, LedgerEntry.id)).all())
    listing_id, other_id, contract_id = listing.id, other.id, w.contract.id
    for seq, column, value in ((2, "listing_id", listing_id), (2, "contract_id", other_id),
                               (3, "reverses_id", ids[2])):
        tamper(update(E).where(E.c.seq == seq).values({column: value}))
        assert first_broken().entry_seq == seq, column
        tamper(update(E).where(E.c.seq == seq).values({column: None if column == "listing_id" else
                                                       contract_id if column == "contract_id" else ids[1]}))
        assert chain.verify().ok, column


@pytest.mark.parametrize("column", ["org_id", "user_id", "entry_id"])
def test_tampering_who_or_what_an_event_is_about_names_its_entry(ledger, column):
    """The payee's confirmation of LE1, moved to the payer's organisation/user or to entry 2."""
    w, refs = ledger
    value = {"org_id": w.renter.id, "user_id": w.renter_user.id,
             "entry_id": db.session.execute(db.select(LedgerEntry.id).where(LedgerEntry.seq == 2)).scalar_one()}[column]
    tamper(update(V).where(V.c.kind == "payee_confirmed").values({column: value}))
    res = chain.verify()
    # moved to entry 2, the event breaks there (and entry 1's confirmation loses its event)
    expected = 2 if column == "entry_id" else 1
    assert not res.ok and any(p.entry_seq == expected and "event_hash" in p.message for p in res.problems), res.problems


def test_hashes_bind_no_database_id(ledger):
    """Renumber every organisation, user and ledger row behind the app's back: the chains still hold."""
    w, refs = ledger
    services.dispute(w.renter_user, db.session.get(LedgerEntry, w_id(2)), "金额不对", now=NOW)  # disputed_by_id too
    db.session.commit()
    assert chain.verify().ok
    provider_id = w.provider.id
    tamper(
        text("UPDATE organisation SET id = id + 1000"),
        text("UPDATE \"user\" SET id = id + 1000, organisation_id = organisation_id + 1000"),
        text("UPDATE ledger_entry SET id = id + 1000, reverses_id = reverses_id + 1000, payer_id = payer_id + 1000, "
             "payee_id = payee_id + 1000, disputed_by_id = disputed_by_id + 1000, recorded_by_id = recorded_by_id + 1000"),
        text("UPDATE ledger_event SET entry_id = entry_id + 1000, org_id = org_id + 1000, user_id = user_id + 1000"),
    )
    res = chain.verify()
    assert res.ok, res.problems
    assert res.entries == 3 and res.events == 5
    # ...and an organisation's USCC is what the entries bind
    tamper(update(Organisation.__table__).where(Organisation.__table__.c.id == provider_id + 1000)
           .values(uscc="91220101MA0000000X"))
    assert first_broken().entry_seq == 1


def w_id(seq: int) -> int:
    return db.session.execute(db.select(LedgerEntry.id).where(LedgerEntry.seq == seq)).scalar_one()


def test_tampering_prev_hash_names_the_entry(ledger):
    tamper(update(E).where(E.c.seq == 3).values(prev_hash="a" * 64))
    assert first_broken().entry_seq == 3


def test_deleting_an_entry_is_detected(ledger):
    w, refs = ledger
    tamper(delete(V).where(V.c.entry_id == db.session.query(LedgerEntry.id).filter_by(seq=2).scalar_subquery()))
    tamper(delete(E).where(E.c.seq == 2))
    assert first_broken().entry_seq == 2


def test_truncating_the_tail_is_detected(ledger):
    tamper(delete(V).where(V.c.entry_id == db.session.query(LedgerEntry.id).filter_by(seq=3).scalar_subquery()))
    tamper(delete(E).where(E.c.seq == 3))
    broken = first_broken()
    assert broken.entry_seq == 3 and "head" in broken.message


def test_forged_confirmation_is_detected(ledger):
    w, refs = ledger
    tamper(update(E).where(E.c.seq == 2).values(payee_confirmed_at=NOW))
    broken = first_broken()
    assert broken.entry_seq == 2 and "state" in broken.message


def test_tampering_an_event_names_its_entry(ledger):
    tamper(update(V).where(V.c.kind == "payee_confirmed").values(at=NOW - dt.timedelta(days=300)))
    assert first_broken().entry_seq == 1


def test_altered_evidence_file_names_the_entry(ledger):
    w, refs = ledger
    entry = db.session.execute(db.select(LedgerEntry).where(LedgerEntry.seq == 2)).scalar_one()
    sha = entry.evidence[1]["sha256"]
    path = evidence_store.path_for(sha)
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"x")
        broken = first_broken()
        assert broken.entry_seq == 2 and sha in broken.message
        path.unlink()
        assert first_broken().entry_seq == 2
    finally:
        path.write_bytes(original)
    assert chain.verify().ok


def test_postgres_triggers_refuse_edits_and_deletes(app_ctx, ledger):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("append-only triggers are PostgreSQL's")
    db.session.remove()
    for stmt in (
        update(E).where(E.c.seq == 1).values(amount_cny=Decimal("1.00")),
        update(E).where(E.c.seq == 1).values(payee_confirmed_at=None),  # set once
        delete(E).where(E.c.seq == 3),
        update(V).where(V.c.seq == 1).values(reason="x"),
        delete(LedgerChain.__table__),
    ):
        with pytest.raises(DBAPIError, match="append-only|set once"):
            with db.engine.begin() as conn:
                conn.execute(stmt)
    # the state cache may still be set once
    with db.engine.begin() as conn:
        conn.execute(update(E).where(E.c.seq == 2).values(payee_confirmed_at=NOW))
    assert chain.verify().first.entry_seq == 2  # ...but verify sees no event behind it


@pytest.fixture
def sliced(monkeypatch):
    """Cut the chain into slices of 2 entries, and let worker processes take them from 1 entry."""
    monkeypatch.setattr(chain, "CHUNK", 2)
    monkeypatch.setattr(chain, "PARALLEL_MIN", 1)


@pytest.mark.parametrize("workers", [1, 2])
def test_sliced_verify_names_the_same_first_problem(ledger, sliced, workers):
    """Slices 1-2 and 3, in this process or in two forked ones: joined in chain order."""
    w, refs = ledger
    res = chain.verify(workers=workers)
    assert res.ok and res.entries == 3 and res.files == 6
    ids = dict(db.session.execute(db.select(LedgerEntry.seq, LedgerEntry.id)).all())
    # inside the second slice
    tamper(update(E).where(E.c.seq == 3).values(amount_cny=Decimal("-999.00")))
    assert chain.verify(workers=workers).first.entry_seq == 3
    # ...and an earlier problem in the first slice wins
    tamper(update(E).where(E.c.seq == 1).values(kind="data_access"))
    res = chain.verify(workers=workers)
    assert res.first.entry_seq == 1 and res.entries == 0
    tamper(update(E).where(E.c.seq == 1).values(kind="rental"), update(E).where(E.c.seq == 3).values(amount_cny=Decimal("-1000.00")))
    assert chain.verify(workers=workers).ok
    # the link across the slice boundary
    tamper(update(E).where(E.c.seq == 3).values(prev_hash="a" * 64))
    broken = chain.verify(workers=workers).first
    assert broken.entry_seq == 3 and "prev_hash" in broken.message
    # the last entry of the first slice removed
    tamper(delete(V).where(V.c.entry_id == ids[2]), delete(E).where(E.c.seq == 2))
    broken = chain.verify(workers=workers).first
    assert broken.entry_seq == 2 and "missing" in broken.message


def test_sliced_verify_notices_a_truncated_tail(ledger, sliced):
    ids = dict(db.session.execute(db.select(LedgerEntry.seq, LedgerEntry.id)).all())
    tamper(delete(V).where(V.c.entry_id == ids[3]), delete(E).where(E.c.seq == 3))
    broken = chain.verify(workers=2).first
    assert broken.entry_seq == 3 and "head" in broken.message
