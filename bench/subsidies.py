"""Subsidy engine benchmark: N ledger entries across M organisations, then a full-year computation
(``market.subsidies.services.iter_year``, what ``flask --app market subsidies compute`` runs) timed
beside a bare SQL ``GROUP BY payer, year`` over the same rows, in the same run.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/subsidies.py --db sqlite:////tmp/subsidies-bench.db
    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/subsidies.py \
        --db 'postgresql+psycopg://postgres@127.0.0.1:5432/DB?options=-csearch_path%3Dbench'
    (a schema of its own — ``CREATE SCHEMA bench`` first — keeps other tables apart)

Rows are bulk-inserted with ``executemany`` (not through the services: no hash chain, the engine does
not read it). Organisations get one facts period each (what the flush hook would write); every provider
publishes a database listing, on which its data-access entries are made (art. 7 reads data access only
with one). Each measurement runs in a child process, so its peak RSS (``ru_maxrss``) is its own: at each
checkpoint (default 100k and 1M entries) the engine's memory should stay flat while N grows tenfold.
THIS DROPS AND RECREATES EVERY TABLE of the database given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

YEAR = 2026
KINDS = ["sme"] * 14 + ["university", "institute", "leading_firm", "leading_firm", "other", "government"]


def _app(db_url: str):
    os.environ.update(MARKET_ENV="development", DATABASE_URL=db_url)
    from market import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SEARCH_WARM": False})  # no search tables here


def measure(db_url: str, what: str, year: int) -> None:
    """Child process: run one measurement, print {"seconds", "rss_mb", ...} as JSON."""
    from sqlalchemy import text

    from market.extensions import db

    app = _app(db_url)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connect before the clock starts
        t0 = time.perf_counter()
        if what == "bare":
            if db.engine.dialect.name == "postgresql":
                sql = ("SELECT payer_id, extract(year FROM paid_at AT TIME ZONE 'Asia/Shanghai') AS y, sum(amount_cny) "
                       "FROM ledger_entry GROUP BY payer_id, y")
            else:
                sql = ("SELECT payer_id, strftime('%Y', paid_at, '+8 hours') AS y, sum(amount_cny) "
                       "FROM ledger_entry GROUP BY payer_id, y")
            rows = db.session.execute(text(sql)).all()
            extra = {"groups": len(rows)}
        elif what == "sheet":  # one organisation's year, as a sheet, estimate or entry page computes it
            import random

            from market.subsidies.services import results_for

            payers = [r[0] for r in db.session.execute(text("SELECT DISTINCT payer_id FROM ledger_entry")).all()]
            sample = random.Random(7).sample(sorted(payers), min(50, len(payers)))
            times = []
            for org_id in sample:
                t1 = time.perf_counter()
                results_for(org_id, year)
                times.append(time.perf_counter() - t1)
            times.sort()
            extra = {"orgs": len(sample), "p50_ms": round(1000 * times[len(times) // 2], 1),
                     "p95_ms": round(1000 * times[int(len(times) * 0.95) - 1], 1)}
        elif what == "contract":  # the engine and the objects `subsidies compute` writes: every line's ref read
            from market.subsidies.services import contract_rows

            n = lines = excluded = 0
            total = Decimal(0)
            for row in contract_rows(year):
                n += 1
                total += Decimal(row["amount_cny"])
                lines += len(row["entries"])
                excluded += len(row["excluded"])
            extra = {"results": n, "lines": lines, "excluded": excluded, "total_cny": f"{total:.2f}"}
        else:
            from market.subsidies.services import iter_year

            n = total = 0
            lines = 0
            for r in iter_year(year):
                n += 1
                total += r.amount
                lines += len(r.lines)
            extra = {"results": n, "lines": lines, "total_cny": f"{total:.2f}"}
        seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"what": what, "seconds": round(seconds, 2), "rss_mb": round(rss_mb, 1), **extra}))


def run_child(db_url: str, what: str, year: int, root: Path = ROOT) -> dict:
    """One measurement in a child process; ``root``: the checkout whose engine (and app) it imports."""
    out = subprocess.run([sys.executable, str(root / "bench" / "subsidies.py"), "--db", db_url, "--measure", what,
                          "--year", str(year)],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(root)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(db_url: str, n: int, year: int, before: Path | None, note: str = "", contract: bool = False) -> None:
    """bare, engine (and the engine of ``before``), one after the other, at this size."""
    bare = run_child(db_url, "bare", year)
    line = (f"{n:>9,} entries{note}: bare GROUP BY {bare['seconds']:.2f} s ({bare['groups']:,} groups, "
            f"RSS {bare['rss_mb']:.0f} MB)")
    for label, root in (("engine", ROOT), *((("before", before),) if before else ())):
        engine = run_child(db_url, "engine", year, root)
        ratio = engine["seconds"] / bare["seconds"] if bare["seconds"] else float("inf")
        line += (f"; {label} {engine['seconds']:.2f} s ({engine['results']:,} results, {engine['lines']:,} lines, "
                 f"total {engine['total_cny']}, RSS {engine['rss_mb']:.0f} MB) ratio {ratio:.1f}x")
        if contract:
            out = run_child(db_url, "contract", year, root)
            line += (f"; {label} + contract rows {out['seconds']:.2f} s ({out['lines']:,} entries, {out['excluded']:,} "
                     f"excluded, RSS {out['rss_mb']:.0f} MB) ratio {out['seconds'] / bare['seconds']:.1f}x")
    sheet = run_child(db_url, "sheet", year)
    line += f"; one organisation (results_for, {sheet['orgs']} payers) p50 {sheet['p50_ms']} ms, p95 {sheet['p95_ms']} ms"
    print(line, flush=True)


def populate(db_url: str, checkpoints: list[int], orgs_n: int, batch: int, year: int, seed: int):
    """Create the schema and organisations, then insert entries up to each checkpoint (a generator)."""
    from sqlalchemy import insert

    from market.extensions import db
    from market.orgs.uscc import make_valid_uscc
    from models.base import Base
    from models.ledger import LedgerEntry
    from models.listings import Listing
    from models.organisations import Organisation, OrganisationFacts, RelatedPartyGroup

    rnd = random.Random(seed)
    app = _app(db_url)
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        since = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        groups = [{"id": g, "name": f"基准集团{g}", "basis": "group", "created_at": now} for g in range(1, orgs_n // 200 + 2)]
        db.session.execute(insert(RelatedPartyGroup), groups)
        orgs, facts = [], []
        by_kind: dict[str, list[int]] = {}
        for i in range(1, orgs_n + 1):
            kind = KINDS[i % len(KINDS)]
            size = rnd.choice(["small", "micro", "medium", "small", "large"]) if kind == "sme" else (
                "large" if kind == "leading_firm" else None)
            in_district, verified = rnd.random() < 0.9, rnd.random() < 0.95
            group = rnd.randrange(1, len(groups) + 1) if rnd.random() < 0.05 else None
            orgs.append({"id": i, "ref": f"B{i:05d}", "name": f"基准机构{i}", "uscc": make_valid_uscc(500000 + i),
                         "kind": kind, "size": size, "in_district": in_district, "group_id": group,
                         "verification_status": "verified" if verified else "pending",
                         "created_at": since, "updated_at": since})
            facts.append({"organisation_id": i, "valid_from": since, "valid_to": None, "kind": kind, "size": size,
                          "in_district": in_district, "verified": verified, "group_id": group})
            by_kind.setdefault(kind, []).append(i)
        db.session.execute(insert(Organisation), orgs)
        db.session.execute(insert(OrganisationFacts), facts)
        db.session.commit()

        smes = by_kind["sme"]
        providers = by_kind["university"] + by_kind["institute"] + by_kind["leading_firm"] + by_kind["other"]
        # every provider publishes a database: data access is a deal on a listing (art. 7 reads data access with a
        # database listing; an entry without one would count for nothing and only measure the engine skipping it)
        db.session.execute(insert(Listing), [
            {"id": p, "ref": f"BL{p:05d}", "kind": "database", "owner_id": p, "title": f"基准数据库{p}",
             "description": "", "status": "published", "published_at": since} for p in providers])
        db.session.commit()
        leaders = by_kind["leading_firm"]
        evidence = ('[{"filename":"c.pdf","sha256":null,"size":null,"type":"contract"},'
                    '{"filename":"i.pdf","sha256":null,"size":null,"type":"invoice"},'
                    '{"filename":"p.pdf","sha256":null,"size":null,"type":"payment_record"}]')
        start = dt.datetime(year - 1, 1, 1, tzinfo=dt.UTC)
        span = (dt.datetime(year, 12, 31, 15, 0, tzinfo=dt.UTC) - start).total_seconds()
        done, recent = 0, []
        for target in checkpoints:
            t0 = time.perf_counter()
            while done < target:
                rows = []
                for _ in range(min(batch, target - done)):
                    done += 1
                    r = rnd.random()
                    if recent and r < 0.02:  # a refund of a recent entry
                        orig = rnd.choice(recent)
                        rows.append({**orig, "amount_cny": -(orig["amount_cny"] / 2).quantize(Decimal("0.01")),
                                     "reverses_id": orig["id"], "evidence_json": '[]'})
                    else:
                        kind = "rental" if r < 0.6 else ("scenario_contract" if r < 0.9 else "data_access")
                        payer = rnd.choice(leaders) if kind == "scenario_contract" else rnd.choice(smes)
                        payee = rnd.choice(smes) if kind == "scenario_contract" else rnd.choice(providers)
                        paid = start + dt.timedelta(seconds=rnd.random() * span)
                        rows.append({"kind": kind, "payer_id": payer, "payee_id": payee,
                                     "listing_id": payee if kind == "data_access" else None,
                                     "amount_cny": Decimal(rnd.randrange(100, 50_000_000)) / 100, "paid_at": paid,
                                     "reverses_id": None, "evidence_json": evidence})
                    row = rows[-1]
                    confirmed = now if rnd.random() < 0.95 else None
                    row.update(id=done, seq=done, ref=f"E{done:08d}", idempotency_key=f"bench:{done}",
                               prev_hash=f"{done - 1:064x}", entry_hash=f"{done:064x}", confirmed_by_import=True,
                               subsidies_json="[]", recorded_at=now, source="bench",
                               payer_confirmed_at=confirmed, payee_confirmed_at=confirmed)
                    if row["reverses_id"] is None:
                        recent.append(dict(row))
                        recent = recent[-1000:]
                    else:  # refunds come after their payment
                        row["paid_at"] = row["paid_at"] + dt.timedelta(days=3)
                db.session.execute(insert(LedgerEntry), rows)
                db.session.commit()
            analyze(db)
            yield target, time.perf_counter() - t0


def analyze(db) -> None:
    """Planner statistics for the rows just inserted (what autovacuum would gather on a live database):
    without them PostgreSQL plans the engine's query for the 61 rows it last counted."""
    from sqlalchemy import text

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--entries", default="100000,1000000", help="checkpoints (comma-separated entry counts)")
    ap.add_argument("--orgs", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--year", type=int, default=YEAR)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--before", type=Path, help="also time the engine of this checkout (e.g. an export of an "
                    "earlier commit that has this script), in the same run, on the same rows")
    ap.add_argument("--existing", type=int, metavar="N", help="measure the database as it is (N entries, "
                    "from an earlier run) instead of populating it")
    ap.add_argument("--repeat", type=int, default=1, help="measurements per checkpoint")
    ap.add_argument("--contract", action="store_true", help="also time the engine with the objects `subsidies "
                    "compute` writes (every line's and exclusion's ref read: the lines are made when first read)")
    ap.add_argument("--measure", choices=["bare", "engine", "contract", "sheet"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.db, args.measure, args.year)
        return
    before = args.before.resolve() if args.before else None
    print(f"db: {args.db.split('://')[0]}, organisations: {args.orgs:,}, year {args.year}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.existing:
        app = _app(args.db)
        with app.app_context():
            from market.extensions import db

            analyze(db)
        for _ in range(args.repeat):
            report(args.db, args.existing, args.year, before, contract=args.contract)
        return
    checkpoints = [int(x) for x in args.entries.split(",")]
    for n, insert_s in populate(args.db, checkpoints, args.orgs, args.batch, args.year, args.seed):
        for _ in range(args.repeat):
            report(args.db, n, args.year, before, f" (inserted in {insert_s:.1f} s)", contract=args.contract)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
