"""The listings importer at 100,000 rows: wall time and peak RSS of the real CLI, memory flat.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/import_listings.py [--n 100000 10000] [--db URL] [--publish] [--again]

For each N: a fresh SQLite database in a temporary directory (or the PostgreSQL database given by
``--db``, whose tables are dropped and recreated), the schema from the models, then 300
organisations imported with ``flask --app market orgs import`` and an N-row listings JSONL file
(realistic Chinese titles and descriptions recombined from the relevance set, ~400 bytes a row)
imported with ``flask --app market listings import FILE`` (``--again``: a second time, every row
unchanged). Each command runs in a child process; its wall time and peak RSS (``ru_maxrss`` of
that child, from ``os.wait4``) are printed.

The search index is not built here: a draft is not indexed, and a published listing (``--publish``)
only queues a row in the search outbox; after the commit the app's hook indexes for at most
SEARCH_SYNC_TIMEOUT (3 s) and leaves the rest to ``search sync`` (see "Search at 100,000 listings").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "relevance"

ORG_KINDS = ("leading_firm", "university", "institute", "government", "other")
ORG_WORDS = ("光华", "星网", "吉新", "北湖", "长德", "净月", "空港", "博远", "华信", "中科", "融通", "远航", "新创", "智造")
ORG_TAILS = {
    "leading_firm": "科技股份有限公司", "university": "大学", "institute": "研究院",
    "government": "数据局", "other": "产业服务中心",
}
PLACES = ("长春新区", "北湖科技园", "高新南区", "空港经济区", "长德新区", "净月片区", "吉林省", "东北地区")


def _fits(kind: str, org_kind: str) -> bool:
    if kind == "public_data":
        return org_kind == "government"
    if kind in ("instrument", "facility", "pilot_base"):
        return org_kind in ("university", "institute", "leading_firm", "other")
    return True  # scenario, database: any kind but an SME (none are generated)


def org_rows(n: int = 300) -> list[dict]:
    from market.orgs.uscc import make_valid_uscc

    rng = random.Random(3)
    rows = []
    for i in range(n):
        kind = ORG_KINDS[i % len(ORG_KINDS)]
        name = f"{PLACES[i % len(PLACES)]}{rng.choice(ORG_WORDS)}{rng.choice(ORG_WORDS)}{ORG_TAILS[kind]}{i:03d}"
        rows.append({"ref": f"BO{i:03d}", "name": name, "uscc": make_valid_uscc(700000 + i), "kind": kind,
                     "in_district": True, "verified": True})
    return rows


def listing_rows(n: int, orgs: list[dict], seed: int = 7):
    templates = []
    for path in sorted(DATA.glob("listings_*.jsonl")):
        templates += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    sentences = [s for r in templates for s in r["description"].replace("；", "，").split("，") if len(s) > 6]
    words = sorted({t for r in templates for t in r.get("tags", [])})
    owners = {kind: [o["ref"] for o in orgs if _fits(kind, o["kind"])] for kind in {t["kind"] for t in templates}}
    for i in range(n):
        tmpl = templates[rng.randrange(len(templates))]
        kind = tmpl["kind"]
        if rng.random() < 0.5:
            title = f"{rng.choice(PLACES)}{tmpl['title']}"
        else:
            title = f"{tmpl['title']}（{rng.choice(words)}）"
        row = {
            "ref": f"BL{i:06d}", "kind": kind, "owner": rng.choice(owners[kind]), "title": title[:120],
            "description": "，".join(rng.sample(sentences, 4)) + "。",
            "tags": rng.sample(words, 3), "track": tmpl["track"],
        }
        if kind == "scenario":
            row["budget_cny"] = str(rng.choice([50000, 150000, 300000, 800000, 2500000]))
        elif kind in ("instrument", "facility", "pilot_base"):
            row["rate_cny_per_hour"] = str(rng.choice([80, 150, 300, 600, 1500]))
        elif kind == "public_data":
            row["open_mode"] = tmpl.get("open_mode") or "conditional"
        yield row


def write_jsonl(path: Path, rows) -> int:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path.stat().st_size


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run the CLI in a child; its wall seconds, peak RSS in MB, and its last output line."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "market", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{out[-3000:]}")
    lines = [line for line in out.splitlines() if line.strip()]
    return wall, usage.ru_maxrss / 1024, lines[-1] if lines else ""


def fresh_schema(url: str) -> None:
    from sqlalchemy import create_engine

    from models.base import Base

    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 10_000])
    ap.add_argument("--db", default=None, help="database URL (default: SQLite in a temporary directory per N)")
    ap.add_argument("--publish", action="store_true", help="import with --publish (audited, queued for search)")
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--cli-args", default="", help="extra arguments for listings import (e.g. --quiet)")
    ap.add_argument("--again", action="store_true", help="import the same file a second time (every row unchanged)")
    args = ap.parse_args()

    import models  # noqa: F401  (every model on the metadata)
    import models.listings  # noqa: F401

    work = Path(args.dir or tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    orgs = org_rows()
    orgs_file = work / "orgs.jsonl"
    write_jsonl(orgs_file, orgs)
    for n in args.n:
        listings_file = work / f"listings-{n}.jsonl"
        size = write_jsonl(listings_file, listing_rows(n, orgs))
        url = args.db or f"sqlite:///{work}/bench-{n}.db"
        if not args.db and Path(f"{work}/bench-{n}.db").exists():
            Path(f"{work}/bench-{n}.db").unlink()
        fresh_schema(url)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "MARKET_ENV": "development",
               "MARKET_INSTANCE_PATH": str(work / "instance"), "SEARCH_INDEX_DIR": str(work / "index"),
               "SECRET_KEY": "bench-only", "MAIL_BACKEND": "console"}
        wall, rss, last = run(["orgs", "import", str(orgs_file)], env)
        print(f"orgs import: {len(orgs)} rows, {wall:.1f} s, peak RSS {rss:.0f} MB ({last})", flush=True)
        cmd = ["listings", "import", str(listings_file), *args.cli_args.split()]
        if args.publish:
            cmd.append("--publish")
        for round_ in ("first", "again")[: 2 if args.again else 1]:
            wall, rss, last = run(cmd, env)
            print(f"listings import ({round_}): {n:,} rows, {size / 1e6:.1f} MB, {wall:.1f} s, {n / wall:,.0f} rows/s, "
                  f"peak RSS {rss:.0f} MB ({last})", flush=True)


if __name__ == "__main__":
    main()
