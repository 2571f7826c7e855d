"""Ledger benchmark: bulk-import N entries (a valid hash chain), then time `flask --app market ledger verify`.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/ledger.py --db sqlite:////tmp/ledger-bench.db
    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/ledger.py \
        --db 'postgresql+psycopg://postgres@127.0.0.1:5432/dev_h7?options=-csearch_path%3Dbench'
    (a schema of its own — ``CREATE SCHEMA bench`` first — keeps the test suite's tables apart)

The bulk insert bypasses the per-row services (CONTRACT.md validation) but builds every entry with
the same canonical content and hash functions, so the chain it writes verifies. Verify runs as the
real CLI in a child process at each checkpoint (default 100k and 1M entries), once per ``--workers``
value (default 1, then 2), and the child's peak RSS (``ru_maxrss``, the largest of the process and
its worker processes) and wall time are reported: memory should stay flat as N grows tenfold.
THIS DROPS AND RECREATES EVERY TABLE of the database given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--checkpoints", default="100000,1000000")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--workers", default="1,2", help="ledger verify --workers values to time")
    ap.add_argument("--verify-only", action="store_true",
                    help="time verify on the chain a previous run left in --db (no drop, no insert)")
    args = ap.parse_args()
    checkpoints = [int(x) for x in args.checkpoints.split(",")]
    evidence_dir = tempfile.mkdtemp(prefix="ledger-bench-evidence-")
    os.environ.update(MARKET_ENV="development", DATABASE_URL=args.db, EVIDENCE_DIR=evidence_dir)

    from sqlalchemy import func, insert, select

    from market import create_app
    from market import evidence as store
    from market.extensions import db
    from market.ledger import chain
    from market.ledger.services import evidence_json
    from market.orgs.uscc import make_valid_uscc
    from models.base import Base
    from models.ledger import GENESIS, LedgerChain, LedgerEntry, chain_hash, entry_content
    from models.organisations import Organisation

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.db, "EVIDENCE_DIR": evidence_dir})
    with app.app_context():
        if args.verify_only:
            orgs = list(db.session.execute(select(Organisation).order_by(Organisation.id)).scalars())
            checkpoints = [db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()]
        else:
            Base.metadata.drop_all(db.engine)
            Base.metadata.create_all(db.engine)
            orgs = [Organisation(ref=f"B{i}", name=f"基准机构{i}", uscc=make_valid_uscc(700000 + i),
                                 kind="sme" if i % 2 else "university") for i in range(10)]
            db.session.add_all(orgs)
            db.session.commit()
        org_ids = [o.id for o in orgs]
        usccs = [o.uscc for o in orgs]  # what the content binds (models.ledger docstring)
        files = [store.store(io.BytesIO(b"%PDF-1.4 bench " + t.encode()), f"{t}.pdf")
                 for t in ("contract", "invoice", "payment_record")]
        ev = evidence_json([{"type": t, "sha256": f.sha256, "filename": f.filename, "size": f.size}
                            for t, f in zip(("contract", "invoice", "payment_record"), files, strict=True)])
        db.session.remove()

        table = LedgerEntry.__table__
        recorded = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        base_paid = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        seq, prev = (checkpoints[0], None) if args.verify_only else (0, GENESIS)
        print(f"database: {db.engine.dialect.name} ({args.db.split('@')[-1]})")
        print(f"{'entries':>10} {'insert s':>9} {'workers':>7} {'verify s':>9} {'entries/s':>10} {'CPU s':>6} "
              f"{'peak RSS MB':>12} {'load':>5}")
        insert_time = 0.0
        for target in checkpoints:
            t0 = time.perf_counter()
            while seq < target:
                rows = []
                for _ in range(min(args.batch, target - seq)):
                    seq += 1
                    payer, payee = seq % 10, (seq + 3) % 10
                    amount = Decimal(1000 + seq % 997) + Decimal("0.50")
                    paid = base_paid + dt.timedelta(seconds=seq * 53)
                    ref, key = f"B{seq:08d}", f"bench:{seq}"
                    content = entry_content(seq, ref, "rental", usccs[payer], usccs[payee], None, None, amount,
                                            paid, None, key, True, ev, "[]")
                    h = chain_hash(prev, content)
                    rows.append(dict(seq=seq, ref=ref, kind="rental", payer_id=org_ids[payer], payee_id=org_ids[payee],
                                     amount_cny=amount, paid_at=paid, idempotency_key=key,
                                     confirmed_by_import=True, evidence_json=ev, subsidies_json="[]",
                                     prev_hash=prev, entry_hash=h, recorded_at=recorded, source="bench",
                                     payer_confirmed_at=recorded, payee_confirmed_at=recorded))
                    prev = h
                with db.engine.begin() as conn:
                    conn.execute(insert(table), rows)
            if not args.verify_only:
                with db.engine.begin() as conn:
                    head = LedgerChain.__table__  # rows of the chain head are never deleted (PG trigger)
                    done = conn.execute(head.update().where(head.c.name == chain.ENTRIES).values(seq=seq, head_hash=prev))
                    if done.rowcount == 0:
                        conn.execute(insert(head), [{"name": chain.ENTRIES, "seq": seq, "head_hash": prev}])
            insert_time += time.perf_counter() - t0

            for workers in args.workers.split(","):
                load = os.getloadavg()[0]
                t1 = time.perf_counter()
                out = tempfile.TemporaryFile(mode="w+")
                proc = subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "market", "ledger", "verify", "--workers", workers],
                    cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT,
                )
                _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: its peak RSS
                proc.returncode = os.waitstatus_to_exitcode(status)
                elapsed = time.perf_counter() - t1
                out.seek(0)
                output = out.read().strip().splitlines()
                if proc.returncode != 0:
                    print("\n".join(output))
                    raise SystemExit("verify failed")
                cpu = usage.ru_utime + usage.ru_stime  # the CLI's and its workers': what load cannot inflate
                print(f"{seq:>10,} {insert_time:>9.1f} {workers:>7} {elapsed:>9.1f} {seq / elapsed:>10,.0f} {cpu:>6.1f} "
                      f"{usage.ru_maxrss / 1024:>12.1f} {load:>5.1f}", flush=True)
                print("   ", output[-1], flush=True)


if __name__ == "__main__":
    main()
