"""Search at scale: 100,000 generated listings, indexing time, endpoint vs raw Whoosh latency.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/search.py [--n 100000] [--procs 2] [--limitmb 256]
    (``--no-index``: only generate the database, e.g. for bench/search_cold.py)

Listings are generated from the relevance set's vocabulary (titles, tags, sentences recombined),
about 100-150 characters each. The endpoint is timed through Flask's test client (routing,
argument parsing, DB hydration of the page, highlighting, JSON); the raw figure is the same
Whoosh query (same parsed query, filters, facets, page size) on the same index and searcher.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MARKET_ENV", "testing")

QUERIES = [
    "电镜", "扫描电镜", "冷冻电镜", "核磁", "色谱", "质谱", "遥感", "北斗", "中试", "中试基地", "算力",
    "病历", "医保", "公交", "碳排放", "无人机", "显微镜", "光谱", "测序", "试验机", "SEM", "NMR", "XRD",
    "AI", "TEM", "MRI", "电子显微镜", "自动驾驶", "车路协同", "数字孪生", "锂电池 中试", "北斗 定位 数据",
    "医疗器械 中试", "视频监控 算法", "水质 监测", "交通 开放数据", "掃描電鏡", "扫瞄电镜",
    "我们想找一台能观察锂电池材料表面形貌的扫描电镜", "哪里能租到GPU算力训练大模型",
    "公司研发的医疗器械需要做电磁兼容测试，哪里可以预约？", "政府有没有开放企业的信用数据",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def generate(n: int, seed: int = 7):
    import json

    from bench.relevance import DATA, listings_data

    rows = listings_data()
    orgs = [json.loads(line) for line in (DATA / "orgs.jsonl").read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    sentences = [s for r in rows for s in r["description"].replace("；", "，").split("，") if len(s) > 6]
    places = ["长春新区", "北湖科技园", "高新南区", "空港经济区", "长德新区", "净月片区", "吉林省", "东北地区"]
    words = sorted({t for r in rows for t in r.get("tags", [])})
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        tmpl = rows[rng.randrange(len(rows))]
        title = f"{rng.choice(places)}{tmpl['title']}" if rng.random() < 0.5 else f"{tmpl['title']}（{rng.choice(words)}）"
        desc = "，".join(rng.sample(sentences, 3))[:160] + "。"
        kind = tmpl["kind"]
        owner = rng.choice([o for o in orgs if _fits(kind, o["kind"])])
        price = None
        if kind == "scenario":
            price = Decimal(rng.choice([50000, 150000, 300000, 800000, 2500000]))
        elif kind in ("instrument", "facility", "pilot_base"):
            price = Decimal(rng.choice([80, 150, 300, 600, 1500]))
        yield dict(
            ref=f"B{i:06d}", kind=kind, owner_ref=owner["ref"], title=title[:200], description=desc,
            tags=rng.sample(words, 3), track=tmpl["track"], status="published",
            published_at=base + dt.timedelta(minutes=i),
            budget_cny=price if kind == "scenario" else None,
            rate_cny_per_hour=price if kind not in ("scenario",) and price else None,
            open_mode=tmpl.get("open_mode") or ("conditional" if kind == "public_data" else None),
        )


def _fits(kind: str, org_kind: str) -> bool:
    if kind == "public_data":
        return org_kind == "government"
    if kind in ("instrument", "facility", "pilot_base"):
        return org_kind in ("university", "institute", "leading_firm", "other")
    return org_kind != "sme"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--limitmb", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="reuse the database and index in --dir (latency only)")
    ap.add_argument("--no-index", action="store_true", help="generate the database only (no reindex, no timing)")
    args = ap.parse_args()

    import json

    from sqlalchemy import insert
    from whoosh import query as Q
    from whoosh import sorting

    from bench.relevance import DATA
    from market import create_app
    from market.extensions import db
    from market.orgs.uscc import make_valid_uscc
    from market.search import labels
    from market.search.query import build, parse
    from market.search.services import reindex, seed_synonyms, store, synonyms
    from models.base import Base
    from models.listings import Listing
    from models.organisations import Organisation

    work = Path(args.dir or tempfile.mkdtemp(prefix="search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/bench.db", "SEARCH_INDEX_DIR": str(work / "index")})
    with app.app_context():
        if not args.reuse:
            build_world(args, db, Base, DATA, json, make_valid_uscc, Organisation, insert, Listing, seed_synonyms,
                        reindex, store)
        if args.no_index:
            return
        measure(args, app, db, labels, build, parse, store, synonyms, Q, sorting)


def build_world(args, db, Base, DATA, json, make_valid_uscc, Organisation, insert, Listing, seed_synonyms,
                reindex, store) -> None:
    if True:
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        seed_synonyms()
        org_ids = {}
        for n, line in enumerate((DATA / "orgs.jsonl").read_text(encoding="utf-8").splitlines(), start=1):
            o = json.loads(line)
            org = Organisation(ref=o["ref"], name=o["name"], kind=o["kind"], uscc=make_valid_uscc(800000 + n),
                               verification_status="verified")
            db.session.add(org)
            db.session.flush()
            org_ids[o["ref"]] = org.id
        db.session.commit()
        t0 = time.perf_counter()
        chunk = []
        for row in generate(args.n):
            row["owner_id"] = org_ids[row.pop("owner_ref")]
            chunk.append(row)
            if len(chunk) == 5000:
                db.session.execute(insert(Listing), chunk)
                chunk = []
        if chunk:
            db.session.execute(insert(Listing), chunk)
        db.session.commit()
        print(f"generated {args.n} listings in {time.perf_counter() - t0:.1f} s", flush=True)
        if args.no_index:
            return

        t0 = time.perf_counter()
        count = reindex(procs=args.procs, limitmb=args.limitmb, timeout=3600)
        index_s = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in store().current_dir().rglob("*")) / 1e6
        print(f"indexed {count} listings in {index_s:.1f} s (procs={args.procs}, limitmb={args.limitmb}), "
              f"index {size_mb:.0f} MB", flush=True)



def measure(args, app, db, labels, build, parse, store, synonyms, Q, sorting) -> None:
    if True:
        client = app.test_client()
        syn = synonyms()

        from market.search.query import DEFAULT, Strategy
        from market.search.services import execute

        strategy = DEFAULT

        def raw(q: str) -> None:
            wq = build(parse(q, syn), strategy) or Q.Every()
            execute(store().searcher(), wq, {}, "relevance" if q else "newest", 1, 20)

        def endpoint(q: str) -> None:
            resp = client.get("/api/v1/search", query_string={"q": q})
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]

        cold = []
        for q in QUERIES:  # warm-up: caches, jieba, columns; the raw figure of this pass is "cold"
            t = time.perf_counter()
            raw(q)
            cold.append((time.perf_counter() - t) * 1000)
            endpoint(q)
        print(f"raw, first pass (posting-list cache cold): p50 {pct(cold, 50):.1f} ms, p95 {pct(cold, 95):.1f} ms, "
              f"max {max(cold):.1f} ms, total {sum(cold) / 1000:.1f} s", flush=True)
        results = {}
        for name, fn in (("raw Whoosh", raw), ("HTTP endpoint", endpoint)):
            times = []
            for _r in range(args.rounds):
                for q in QUERIES:
                    t = time.perf_counter()
                    fn(q)
                    times.append((time.perf_counter() - t) * 1000)
            results[name] = times
            print(f"{name}: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms "
                  f"({len(times)} queries)", flush=True)
        ratio50 = pct(results["HTTP endpoint"], 50) / pct(results["raw Whoosh"], 50)
        ratio95 = pct(results["HTTP endpoint"], 95) / pct(results["raw Whoosh"], 95)
        print(f"endpoint / raw: p50 {ratio50:.2f}x, p95 {ratio95:.2f}x", flush=True)
        strategy = Strategy(jieba=False)
        times = []
        for _r in range(args.rounds):
            for q in QUERIES:
                t = time.perf_counter()
                raw(q)
                times.append((time.perf_counter() - t) * 1000)
        print(f"raw Whoosh, bigram fields only: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms", flush=True)
        hits = client.get("/api/v1/search", query_string={"q": "电镜"}).get_json()["total"]
        print(f"'电镜' finds {hits} listings; median {statistics.median(results['raw Whoosh']):.1f} ms raw", flush=True)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
