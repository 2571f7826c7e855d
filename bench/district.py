"""District views benchmark (issue 13): 1,000,000 ledger entries and 100,000 listings on PostgreSQL.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/district.py \
        --server postgresql://postgres@127.0.0.1:5432/postgres [--entries 1000000 --listings 100000] [--keep]

Creates a database of its own (``bench_district_<pid>``, dropped at the end unless ``--keep``), builds
the schema from the models (with the dashboard indexes), bulk-loads organisations, listings, contracts,
bids, bookings, data applications and ledger entries with COPY (the ledger rows carry unique fake
hashes: the chain is not what is measured here), derives ``ledger_fact`` from them with the same
INSERT ... SELECT as ``flask --app market dashboard rebuild-facts``, ANALYZEs, then times every query the district views
run — through the same service functions the pages call — over varied filters, and prints p50/p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRACKS = ["digital_healthcare", "medical_devices", "satellite_internet", "intelligent_manufacturing", "smart_materials",
          "digital_government", "smart_transport", "smart_security", "smart_environment", "other"]
KINDS = ["scenario", "instrument", "facility", "pilot_base", "database", "public_data"]
ENTRY_KINDS = ["rental", "scenario_contract", "data_access"]
FULL = json.dumps([{"filename": f"{t}.pdf", "sha256": "0" * 64, "size": 1, "type": t}
                   for t in ("contract", "invoice", "payment_record")], separators=(",", ":"), sort_keys=True)
NO_INVOICE = json.dumps([{"filename": f"{t}.pdf", "sha256": "0" * 64, "size": 1, "type": t}
                         for t in ("contract", "payment_record")], separators=(",", ":"), sort_keys=True)
START = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
SPAN = (dt.datetime(2026, 11, 30, tzinfo=dt.UTC) - START).total_seconds()


def _ts(rng: random.Random) -> dt.datetime:
    return START + dt.timedelta(seconds=rng.random() * SPAN)


def _copy(conn, table: str, cols: list[str], rows) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
            n += 1
    return n


def load(conn, n_entries: int, n_listings: int, seed: int = 13) -> None:
    rng = random.Random(seed)
    from market.orgs.uscc import make_valid_uscc

    n_orgs = 2000
    now = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    _copy(conn, "organisation", ["id", "ref", "name", "uscc", "kind", "in_district", "verification_status", "verified_at",
                                 "created_at", "updated_at"],
          ((i, f"O{i}", f"机构{i}", make_valid_uscc(i), "sme" if i % 4 else rng.choice(["leading_firm", "university", "institute"]),
            True, "verified" if i % 10 else "pending", _ts(rng) if i % 10 else None, _ts(rng), now) for i in range(1, n_orgs + 1)))
    providers = [i for i in range(1, n_orgs + 1) if i % 4 == 0]
    smes = [i for i in range(1, n_orgs + 1) if i % 4]
    listing_owner = {}

    def listings():
        for i in range(1, n_listings + 1):
            owner = rng.choice(providers)
            listing_owner[i] = owner
            kind = KINDS[i % len(KINDS)]
            status = "published" if i % 10 else rng.choice(["draft", "submitted", "closed"])
            yield (i, f"L{i:07d}", kind, owner, f"资源{i}", "说明", "", "[]", rng.choice(TRACKS), status,
                   _ts(rng) if status in ("published", "closed") else None, rng.randint(0, 500), False, "{}",
                   800 if kind in ("instrument", "facility", "pilot_base") else None, now, now)

    _copy(conn, "listing", ["id", "ref", "kind", "owner_id", "title", "description", "description_html", "tags", "track",
                            "status", "published_at", "view_count", "in_district_only", "details", "rate_cny_per_hour",
                            "created_at", "updated_at"], listings())
    rentable = [i for i in range(1, n_listings + 1) if KINDS[i % len(KINDS)] in ("instrument", "facility", "pilot_base")]
    n_contracts = 50_000
    _copy(conn, "contract", ["id", "kind", "listing_id", "payer_id", "payee_id", "title", "amount_cny", "payment_schedule",
                             "status", "created_at", "updated_at"],
          ((i, rng.choice(ENTRY_KINDS), lid, rng.choice(smes), listing_owner[lid], f"合同{i}", rng.randint(1, 500) * 1000, "[]",
            rng.choice(["draft", "active", "active", "completed", "cancelled"]), _ts(rng), now)
           for i, lid in ((i, rng.randint(1, n_listings)) for i in range(1, n_contracts + 1))))
    _copy(conn, "bid", ["id", "listing_id", "bidder_id", "approach", "price_cny", "timeline", "attachments", "status",
                        "submitted_at", "revision", "created_at", "updated_at"],
          ((i, rng.randint(1, n_listings), rng.choice(smes), "方案", rng.randint(1, 900) * 1000, "三个月", "[]",
            rng.choice(["submitted", "shortlisted", "awarded", "declined", "withdrawn"]), _ts(rng), 1, now, now)
           for i in range(1, 50_001)))

    def bookings():  # non-overlapping per resource (the exclusion constraint): one slot a day per resource
        bid = 0
        for lid in rentable[:20_000]:
            day0 = rng.randint(0, 1500)
            for k in range(5):
                bid += 1
                start = START + dt.timedelta(days=day0 + k, hours=1)
                yield (bid, lid, rng.choice(smes), start, start + dt.timedelta(hours=rng.randint(1, 6)), "测", "样", False,
                       rng.choice(["requested", "approved", "completed", "completed", "no_show", "cancelled"]), 800,
                       start - dt.timedelta(days=rng.randint(1, 30)), now)

    _copy(conn, "booking", ["id", "listing_id", "renter_id", "start_at", "end_at", "purpose", "sample_description",
                            "operator_needed", "status", "rate_cny_per_hour", "created_at", "updated_at"], bookings())
    _copy(conn, "data_application", ["id", "listing_id", "applicant_id", "purpose", "fields", "period_start", "period_end",
                                     "mode", "status", "created_at", "updated_at"],
          ((i, rng.randint(1, n_listings), rng.choice(smes), "用途", "[]", dt.date(2026, 1, 1), dt.date(2026, 12, 31),
            "use", rng.choice(["submitted", "approved", "rejected", "withdrawn"]), _ts(rng), now) for i in range(1, 20_001)))
    print(f"  organisations, listings, deals: {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    payments: list[tuple[int, int, int, int, dt.datetime]] = []

    def entries():
        for i in range(1, n_entries + 1):
            h = hashlib.md5(str(i).encode()).hexdigest() * 2
            refund = i > 1000 and i % 33 == 0
            if refund:
                oid, payer, payee, lid, paid = payments[rng.randrange(len(payments))]
                paid = paid + dt.timedelta(days=3)
                amount, reverses, ev = -1000, oid, "[]"
            else:
                payee_listing = rng.randint(1, n_listings)
                payer, payee, lid = rng.choice(smes), listing_owner[payee_listing], payee_listing
                paid = _ts(rng)
                amount, reverses, ev = rng.randint(1, 300) * 1000, None, (NO_INVOICE if i % 10 == 0 else FULL)
                if len(payments) < 200_000:
                    payments.append((i, payer, payee, lid, paid))
            r = rng.random()
            payer_c = paid if r < 0.92 else None
            payee_c = paid if r < 0.85 else None
            disputed = paid if i % 50 == 0 else None
            resolved = paid if i % 100 == 0 else None
            yield (i, i, f"LE{i:08d}", rng.choice(ENTRY_KINDS), payer, payee, lid, amount, paid, reverses, f"bench:{i}",
                   False, ev, "[]", h[:63] + "a", hashlib.sha256(str(i).encode()).hexdigest(),
                   paid, "import", payer_c, payee_c, disputed, payee if disputed else None, "核对" if disputed else None, resolved)

    _copy(conn, "ledger_entry", ["id", "seq", "ref", "kind", "payer_id", "payee_id", "listing_id", "amount_cny", "paid_at",
                                 "reverses_id", "idempotency_key", "confirmed_by_import", "evidence_json", "subsidies_json",
                                 "prev_hash", "entry_hash", "recorded_at", "source", "payer_confirmed_at",
                                 "payee_confirmed_at", "disputed_at", "disputed_by_id", "dispute_reason",
                                 "dispute_resolved_at"], entries())
    # the invoice of every third incomplete-evidence entry arrives later, as an event
    _copy(conn, "ledger_event", ["id", "seq", "entry_id", "kind", "at", "doc_type", "sha256", "filename", "size",
                                 "prev_hash", "event_hash"],
          ((k, k, i, "evidence_added", START, "invoice", "1" * 64, "invoice.pdf", 1, f"{k:064x}", f"{k + 10**7:064x}")
           for k, i in enumerate(range(30, n_entries + 1, 30), start=1)))
    print(f"  {n_entries:,} ledger entries: {time.perf_counter() - t0:.1f} s", flush=True)
    with conn.cursor() as cur:
        cur.execute("SET jit = off")
        cur.execute("INSERT INTO ledger_chain (name, seq, head_hash) VALUES ('entries', %s, %s), ('events', 0, %s)",
                    (n_entries, "0" * 64, "0" * 64))
        for table in ("organisation", "listing", "contract", "bid", "booking", "data_application", "ledger_entry", "ledger_event"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    conn.commit()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.autocommit = False


def build_facts() -> None:
    """ledger_fact from the ledger: the same INSERT ... SELECT as `flask dashboard rebuild-facts`."""
    from market.dashboard import facts
    from market.extensions import db

    t0 = time.perf_counter()
    db.session.execute(text("SET LOCAL jit = off"))
    n = facts.rebuild(db.session.connection())
    db.session.commit()
    print(f"  ledger_fact rebuilt ({n:,} rows): {time.perf_counter() - t0:.1f} s", flush=True)


def timed(fn, runs, cold=True):
    from market.dashboard import cache

    out = []
    for args in runs:
        if cold:
            cache.clear()  # every figure is a first computation unless asked otherwise
        t = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", help="an existing bench database name (skip the load)")
    args = ap.parse_args()
    import psycopg

    name = args.reuse or f"bench_district_{os.getpid()}"
    base = args.server.rsplit("/", 1)[0]
    if not args.reuse:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    os.environ.update(MARKET_ENV="development", DATABASE_URL=url, SECRET_KEY="bench")
    from market import create_app
    from market.extensions import db
    from models.base import Base

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            if not args.reuse:
                Base.metadata.create_all(db.engine)
                print(f"loading into {name} ...", flush=True)
                with psycopg.connect(f"{base}/{name}") as conn:
                    load(conn, args.entries, args.listings)
                build_facts()
                with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE ledger_fact")
            report(app, args.runs)
    finally:
        if not args.keep and not args.reuse:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            with psycopg.connect(args.server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def report(app, runs: int) -> None:
    from market.dashboard import district, kpis, ledger_sql, queues
    from market.dashboard.ledger_sql import LedgerFilters as LF
    from market.extensions import db

    rng = random.Random(7)
    years = [2022, 2023, 2024, 2025, 2026]
    statuses = [None, "complete", "incomplete", "missing_evidence", "payee_not_confirmed", "disputed",
                "reversed_entry_incomplete"]

    def ledger_filters():
        return LF(year=rng.choice([None, *years]), kind=rng.choice([None, *ENTRY_KINDS]),
                  track=rng.choice([None, None, *TRACKS]), org_id=rng.choice([None, None, None, rng.randint(1, 2000)]),
                  status=rng.choice(statuses), disputed=rng.choice([None, None, True]),
                  sort=rng.choice(["seq", "paid_at", "amount"]), desc=rng.random() < 0.7)

    def year_filters():  # the totals boxes are shown for the year chosen (the page's default view is a year)
        f = ledger_filters()
        f.year = f.year or rng.choice(years)
        return f

    cases = {
        "ledger page of 50 entries (varied filters, sorts, pages 1-5)": (
            lambda f, p: ledger_sql.page_of_entries(f, p), [(ledger_filters(), rng.randint(1, 5)) for _ in range(runs)]),
        "ledger totals by kind, one year": (lambda f: ledger_sql.totals_by("kind", f), [(year_filters(),) for _ in range(runs)]),
        "ledger totals by track, one year": (lambda f: ledger_sql.totals_by("track", f), [(year_filters(),) for _ in range(runs)]),
        "ledger totals by payee (top 10), one year": (lambda f: ledger_sql.totals_by("payee", f, 10), [(year_filters(),) for _ in range(runs)]),
        "ledger totals by year, all years (no filter)": (lambda f: ledger_sql.totals_by("year", f), [(LF(),) for _ in range(max(5, runs // 4))]),
        "ledger totals by year, one organisation": (lambda f: ledger_sql.totals_by("year", f),
                                                    [(LF(org_id=rng.randint(1, 2000)),) for _ in range(runs)]),
    }
    for section in ("bids", "bookings", "applications", "contracts"):
        spec = district.LISTS[section]
        sts = [None, *(s.value for s in spec.statuses)]
        cases[f"{section}: page of 50 + status counts"] = (
            lambda f, p, spec=spec: (district.page_of(spec, f, p), district.status_counts(spec, f)),
            [(district.ListFilters(status=rng.choice(sts), year=rng.choice([None, *years]),
                                   org_id=rng.choice([None, rng.randint(1, 2000)]), sort=rng.choice(list(spec.sorts))),
              rng.randint(1, 5)) for _ in range(runs)])
    cases["utilisation by resource (page of 50)"] = (lambda y, s: district.utilisation_by_resource(y, sort=s),
                                                     [(rng.choice(years), rng.choice(district.UTIL_SORTS)) for _ in range(runs)])
    cases["utilisation by provider (page of 50)"] = (lambda y: district.utilisation_by_provider(y), [(rng.choice(years),) for _ in range(runs)])
    cases["work queues (4 queues)"] = (lambda: queues.district_queues(), [() for _ in range(runs)])
    for key, fn in kpis.KPIS.items():
        cases[f"KPI {key}"] = (lambda fn=fn: fn(), [() for _ in range(max(5, runs // 2))])

    cached_cases = {"ledger totals by year, all years (no filter)", "work queues (4 queues)", "KPI ledger_years",
                    "KPI confirmed_amounts"}
    print(f"\n{'query (cold: the ledger cache emptied before each run)':58} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}")
    with app.test_request_context():
        for label, (fn, argsets) in cases.items():
            fn(*argsets[0])  # warm PostgreSQL's buffers and plan for this query shape
            xs = timed(fn, argsets)
            db.session.rollback()
            print(f"{label:58} {len(xs):>4} {statistics.median(xs):>8.1f} {pct(xs, 95):>8.1f}", flush=True)
        print("\nserved from the ledger-version cache (unchanged ledger):")
        for label in sorted(cached_cases):
            fn, argsets = cases[label]
            fn(*argsets[0])
            xs = timed(fn, argsets, cold=False)
            db.session.rollback()
            print(f"{label:58} {len(xs):>4} {statistics.median(xs):>8.1f} {pct(xs, 95):>8.1f}", flush=True)
    print(f"\nload average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
