"""Checkpoints anchor the chain outside the database (issue 8, item 11): an insider who rewrites an
amount and recomputes every hash after it passes plain ``ledger verify`` but not
``ledger verify --checkpoint FILE``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from market.extensions import db
from market.ledger import chain, checkpoint, services
from market.scheduler import registered_jobs
from models.ledger import GENESIS, LedgerChain, LedgerEntry, chain_hash
from tests.ledger_helpers import NOW, PAID

E = LedgerEntry.__table__


@pytest.fixture
def cp_file(app, tmp_path, monkeypatch):
    path = tmp_path / "anchors" / "ledger-checkpoints.jsonl"
    monkeypatch.setitem(app.config, "LEDGER_CHECKPOINT_FILE", str(path))
    return path


@pytest.fixture
def three(world):
    """Three payments: LE1 100.00, LE2 200.00, LE3 300.00, each confirmed by the payer."""
    w = world
    for amount in ("100", "200", "300"):
        services.record_payment(w.renter_user, w.contract, amount=Decimal(amount), paid_at=PAID, now=NOW)
    db.session.commit()
    return w


def run(app, *args):
    return app.test_cli_runner().invoke(args=["ledger", *args])


def rewrite_as_insider(seq: int, amount: Decimal) -> None:
    """Change one entry's amount and recompute every hash from there on, and the head: the chain is
    consistent again. On PostgreSQL the append-only triggers are bypassed (replica role)."""
    db.session.expire_all()
    entries = list(db.session.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars())
    updates, prev = [], GENESIS
    with db.session.no_autoflush:  # the changes go in below, as the insider's own SQL
        for e in entries:
            if e.seq == seq:
                e.amount_cny = amount  # in memory: content_of_entry reads it
            if e.seq >= seq:
                e.prev_hash = prev
                e.entry_hash = chain_hash(prev, chain.content_of_entry(e))
                updates.append(update(E).where(E.c.id == e.id).values(
                    amount_cny=e.amount_cny, prev_hash=e.prev_hash, entry_hash=e.entry_hash))
            prev = e.entry_hash
    head = update(LedgerChain.__table__).where(LedgerChain.name == "entries").values(head_hash=prev)
    db.session.expunge_all()
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in [*updates, head]:
            conn.execute(stmt)


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_checkpoint_prints_and_appends_the_head(app, three, cp_file):
    first = run(app, "checkpoint")
    assert first.exit_code == 0, first.output
    printed = json.loads(first.stdout.splitlines()[0])
    head = db.session.get(LedgerChain, "entries")
    assert (printed["seq"], printed["hash"]) == (3, head.head_hash)
    assert printed["events_seq"] == 3 and printed["at"].endswith("Z")
    services.record_payment(three.renter_user, three.contract, amount=Decimal("5"), paid_at=PAID, now=NOW)
    db.session.commit()
    assert run(app, "checkpoint").exit_code == 0
    recorded = lines(cp_file)
    assert [r["seq"] for r in recorded] == [3, 4] and recorded[0] == printed  # appended, never rewritten
    ok = run(app, "verify", "--checkpoint", str(cp_file))
    assert ok.exit_code == 0, ok.output
    assert "ok: 4 entries" in ok.stdout and "all 2 checkpoints" in ok.stdout


def test_an_insider_rewrite_passes_verify_but_not_the_checkpoints(app, three, cp_file):
    assert run(app, "checkpoint").exit_code == 0  # line 1: seq 3
    services.record_payment(three.renter_user, three.contract, amount=Decimal("400"), paid_at=PAID, now=NOW)
    db.session.commit()
    assert run(app, "checkpoint").exit_code == 0  # line 2: seq 4

    rewrite_as_insider(2, Decimal("200000.00"))
    db.session.expire_all()
    assert db.session.execute(select(LedgerEntry.amount_cny).where(LedgerEntry.seq == 2)).scalar() == Decimal("200000.00")
    plain = run(app, "verify")
    assert plain.exit_code == 0 and "ok: 4 entries" in plain.output  # the chain is consistent in itself
    assert chain.verify().ok

    anchored = run(app, "verify", "--checkpoint", str(cp_file))
    assert anchored.exit_code == 1
    assert "BROKEN at checkpoint line 1 (seq 3, " in anchored.stderr
    assert "entry 3 has hash" in anchored.stderr and "rewritten" in anchored.stderr
    # and no new checkpoint anchors the rewritten chain
    refused = run(app, "checkpoint")
    assert refused.exit_code == 1 and "checkpoint line 1" in refused.stderr
    assert len(lines(cp_file)) == 2


def test_a_rewrite_after_the_last_checkpoint_is_not_claimed(app, three, cp_file):
    """What a checkpoint proves: the chain up to it. Entries after the last one are only as good as verify."""
    assert run(app, "checkpoint").exit_code == 0  # seq 3
    services.record_payment(three.renter_user, three.contract, amount=Decimal("400"), paid_at=PAID, now=NOW)
    db.session.commit()
    rewrite_as_insider(4, Decimal("4000.00"))
    assert run(app, "verify", "--checkpoint", str(cp_file)).exit_code == 0


def test_a_broken_chain_still_reports_the_entry_first(app, three, cp_file):
    assert run(app, "checkpoint").exit_code == 0
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(update(E).where(E.c.seq == 2).values(amount_cny=Decimal("1.00")))
    res = run(app, "verify", "--checkpoint", str(cp_file))
    assert res.exit_code == 1 and "BROKEN at entry 2 (LE00000002)" in res.stderr


def test_an_unreadable_or_missing_checkpoint_is_named(app, three, cp_file):
    assert run(app, "checkpoint").exit_code == 0
    with open(cp_file, "a") as f:
        f.write('{"seq": 99, "hash": "' + "a" * 64 + '", "at": "2026-12-01T00:00:00Z"}\n')
        f.write("not json\n")
    res = run(app, "verify", "--checkpoint", str(cp_file))
    assert res.exit_code == 1 and "BROKEN at checkpoint line 2 (seq 99, 2026-12-01T00:00:00Z): entry 99 is missing" in res.stderr
    assert run(app, "verify", "--checkpoint", str(cp_file.parent / "nope.jsonl")).exit_code == 2


def test_the_scheduler_takes_one_checkpoint_a_day(app, three, cp_file):
    jobs = {spec.id: spec for spec in registered_jobs()}
    assert jobs["ledger.checkpoint"].func is checkpoint.daily_checkpoint
    assert checkpoint.daily_checkpoint() is not None
    assert checkpoint.daily_checkpoint() is None  # same Beijing day: nothing more
    assert len(lines(cp_file)) == 1
    # the day boundary is Beijing's: 15:59 UTC is still today there, 16:00 UTC is tomorrow
    today = dt.datetime.now(checkpoint.SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = (today + dt.timedelta(days=1)).astimezone(dt.UTC)
    assert checkpoint.take(cp_file, now=tomorrow - dt.timedelta(minutes=1), once_per_day=True) is None
    assert checkpoint.take(cp_file, now=tomorrow, once_per_day=True) is not None
    assert len(lines(cp_file)) == 2


def test_the_home_page_shows_the_latest_checkpoint(app, client, three, cp_file):
    assert 'id="ledger-checkpoint"' not in client.get("/").get_data(as_text=True)  # none taken yet
    at = dt.datetime(2026, 12, 5, 16, 30, tzinfo=dt.UTC)  # 00:30 on 6 December in Beijing
    cp = checkpoint.take(cp_file, now=at)
    page = client.get("/").get_data(as_text=True)
    assert 'id="ledger-checkpoint"' in page
    assert "第 3 笔" in page and cp.hash[:16] in page and cp.hash not in page.replace(f'title="{cp.hash}"', "")
    assert "2026-12-06 00:30" in page and "北京时间" in page
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Ledger checkpoint" in page and "Beijing time" in page
