"""Cold-query latency behind gunicorn: mostly unseen queries right after start and after a reindex.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/search_cold.py --dir DIR [--n 100000] [--queries 300] \
        [--fake-vectors] [--without-english]

``DIR`` holds the database (``bench.db``) and index of ``bench/search.py --dir DIR`` (built here
with ``--no-index`` and ``flask search reindex`` if ``DIR/bench.db`` is missing). Then:

1. the full ``flask --app market search reindex --procs 2`` is timed (wall and CPU seconds of
   the command and its workers, unless ``--skip-reindex``);
2. gunicorn starts with 2 workers on 127.0.0.1 (``market:create_app()``, rate limits off) and the
   clock starts when it first answers; ``--queries`` generated queries, each distinct and never
   sent before (Chinese words and fragments of titles, tags, pairs of tags, full pinyin and
   initials of titles and tags, abbreviations from the lexicon, traditional characters,
   homophone typos, long sentences, English words and phrases of the glossary), are sent one after the other
   through ``GET /api/v1/search``;
3. ``flask search reindex`` runs again while gunicorn serves, and once it is done a second set of
   distinct queries (another seed) is sent the same way;
4. gunicorn is stopped (and is killed by its own ``--timeout``/our deadline if anything hangs).

Prints p50 / p95 / p99 / max per phase, the load average, and the CPU seconds used.

``--fake-vectors`` gives every published listing without a sentence vector (``listing_vector``) a random unit
vector before gunicorn starts, so that requests are re-ordered by meaning (``market.search.semantic``) as in
production. Real vectors cost about 26 ms a listing (45 minutes for 100,000); a request's cost (its own embedding
with the real model, the product with every listing's vector, loading them into each worker) does not depend on
their values. Without it (and with no vectors in DIR) no request is re-ordered.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))

PLACES_TYPO = {"谱": "普", "镜": "境", "磁": "词", "析": "西", "测": "侧", "仪": "议", "验": "艳", "据": "巨"}
SENTENCES = ["我们想找{a}，用来做{b}", "哪里可以预约{a}？", "公司需要{a}和{b}方面的支持", "有没有开放的{a}数据",
             "想租用{a}做{b}测试", "请推荐能提供{a}的单位", "{a}在长春新区哪里有"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def query_stream(n: int, seed: int, exclude: set[str], english_share: int = 6) -> list[str]:
    """``n`` distinct, realistic queries none of which is in ``exclude`` (``english_share`` 0: the stream of the runs
    before English queries were searched, query for query)."""
    import jieba
    from pypinyin import lazy_pinyin

    from bench.relevance import listings_data
    from market.search.seed import load_lexicon

    rows = listings_data()
    rng = random.Random(seed)
    titles = [r["title"] for r in rows]
    tags = sorted({t for r in rows for t in r.get("tags", []) if len(t) >= 2})
    words = sorted({w for t in titles for w in jieba.cut(t) if len(w) >= 2})
    abbrevs = sorted({t for g in load_lexicon() for t in g["terms"] if t.isascii() and 2 <= len(t) <= 8})
    zh_terms = sorted({t for g in load_lexicon() for t in g["terms"] if not t.isascii() and 2 <= len(t) <= 8})
    from market.search.english import glossary

    english = sorted(" ".join(words) for words in glossary())

    def fragment(text: str) -> str:
        k = rng.randint(2, min(6, len(text)))
        i = rng.randrange(0, len(text) - k + 1)
        return text[i : i + k]

    def typo(word: str) -> str:
        chars = [PLACES_TYPO.get(c, c) if rng.random() < 0.7 else c for c in word]
        return "".join(chars)

    makers = [
        (14, lambda: rng.choice(words)),
        (10, lambda: fragment(rng.choice(titles))),
        (10, lambda: rng.choice(tags)),
        (10, lambda: " ".join(rng.sample(tags, 2))),
        (6, lambda: " ".join(rng.sample(words, 3))),
        (10, lambda: "".join(lazy_pinyin(rng.choice(words + tags)))),  # dianjing
        (5, lambda: " ".join(lazy_pinyin(rng.choice(words)))),  # sepu fenxi
        (8, lambda: "".join(p[0] for p in lazy_pinyin(rng.choice(words + tags)))),  # zpy
        (8, lambda: rng.choice(abbrevs)),
        (6, lambda: rng.choice(zh_terms)),
        (5, lambda: typo(rng.choice([w for w in words + tags if any(c in PLACES_TYPO for c in w)] or words))),
        (3, lambda: __import__("zhconv").convert(rng.choice(words + tags), "zh-tw")),
        (6, lambda: rng.choice(SENTENCES).format(a=rng.choice(tags), b=rng.choice(words))),
    ]
    if english_share:  # English (market/search/english.py)
        makers.append((english_share, lambda: " ".join(rng.sample(english, rng.randint(1, 3)))))
    weights = [w for w, _f in makers]
    out: list[str] = []
    seen = set(exclude)
    while len(out) < n:
        q = rng.choices(makers, weights)[0][1]().strip()
        if q and q not in seen:
            seen.add(q)
            out.append(q)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system, with reaped children) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return sum(int(x) for x in fields[11:15]) / tick
    except (OSError, IndexError, ValueError):
        return 0.0


def workers_cpu(master: int) -> float:
    total = cpu_of(master)
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int(p.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == master:
                total += cpu_of(int(p.name))
    return total


def timed_reindex(env: dict, procs: int) -> tuple[float, float, str]:
    t0, c0 = time.perf_counter(), os.times()
    out = subprocess.run([PY, "-m", "flask", "--app", "market", "search", "reindex", "--procs", str(procs)],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=True)
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return time.perf_counter() - t0, cpu, out.stdout.strip()


def run_queries(port: int, queries: list[str]) -> list[float]:
    times = []
    for q in queries:
        url = f"http://127.0.0.1:{port}/api/v1/search?" + urllib.parse.urlencode({"q": q})
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as resp:
            body = resp.read()
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status == 200, body[:200]
        json.loads(body)
    return times


def report(name: str, times: list[float]) -> dict:
    got = dict(phase=name, n=len(times), p50=pct(times, 50), p95=pct(times, 95), p99=pct(times, 99), max=max(times))
    print(f"{name}: {len(times)} queries, p50 {got['p50']:.1f} ms, p95 {got['p95']:.1f} ms, "
          f"p99 {got['p99']:.1f} ms, max {got['max']:.1f} ms; load {os.getloadavg()}", flush=True)
    return got


def fake_vectors(work: Path, seed: int = 0) -> int:
    """A random unit vector (seeded) for each published listing without one; returns how many were stored."""
    import datetime as dt

    import numpy as np
    from sqlalchemy import insert, select

    from market import create_app
    from market.extensions import db
    from market.search.semantic import DIM
    from models.listings import Listing, ListingStatus
    from models.search import ListingVector

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/bench.db", "SEARCH_INDEX_DIR": str(work / "index"),
                      "SECRET_KEY": "bench-only", "SEARCH_WARM": False})
    rng, now = np.random.default_rng(seed), dt.datetime.now(dt.UTC)
    with app.app_context():
        ids = db.session.execute(
            select(Listing.id).outerjoin(ListingVector, ListingVector.listing_id == Listing.id)
            .where(Listing.status == ListingStatus.PUBLISHED, ListingVector.id.is_(None)).order_by(Listing.id)
        ).scalars().all()
        for start in range(0, len(ids), 5000):
            part = ids[start:start + 5000]
            vectors = rng.standard_normal((len(part), DIM), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            db.session.execute(insert(ListingVector.__table__), [
                dict(listing_id=lid, text_hash="fake".ljust(64, "0"), vector=v.astype("<f4").tobytes(), created_at=now)
                for lid, v in zip(part, vectors, strict=True)])
        db.session.commit()
    return len(ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--skip-reindex", action="store_true", help="use the index in DIR as it is")
    ap.add_argument("--deadline", type=float, default=3600, help="stop everything after this many seconds")
    ap.add_argument("--without-english", action="store_true",
                    help="no English queries in the stream: the same queries as the runs before them")
    ap.add_argument("--fake-vectors", action="store_true", help="random listing vectors where missing (see above)")
    args = ap.parse_args()

    work = Path(args.dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MARKET_ENV="development", SECRET_KEY="bench-only", DATABASE_URL=f"sqlite:///{work}/bench.db",
               SEARCH_INDEX_DIR=str(work / "index"), RATE_LIMITS_ENABLED="0", PYTHONPATH=str(ROOT))
    if not (work / "bench.db").exists():
        subprocess.run([PY, "bench/search.py", "--n", str(args.n), "--no-index", "--dir", str(work)],
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True, timeout=3600)
    print(f"uptime: {os.getloadavg()}", flush=True)
    if not args.skip_reindex or not (work / "index" / "current").exists():
        wall, cpu, out = timed_reindex(env, args.procs)
        print(f"reindex (procs={args.procs}): {out}; wall {wall:.1f} s, CPU {cpu:.1f} s; load {os.getloadavg()}",
              flush=True)
    if args.fake_vectors:
        t = time.perf_counter()
        print(f"fake vectors: {fake_vectors(work)} rows inserted in {time.perf_counter() - t:.1f} s", flush=True)

    share = 0 if args.without_english else 6
    first = query_stream(args.queries, 1, set(), share)
    second = query_stream(args.queries, 2, set(first), share)
    port = free_port()
    started = time.perf_counter()
    gun = subprocess.Popen(
        [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning",
         "market:create_app()"], cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + args.deadline
    try:
        while True:  # ready: it answers a request (not a search: every query below is unseen)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/search?q=&per_page=1", timeout=5):
                    break
            except OSError:
                if gun.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        print(f"gunicorn answering after {time.perf_counter() - started:.1f} s", flush=True)
        cpu0 = workers_cpu(gun.pid)
        report("after start", run_queries(port, first))
        print(f"server CPU for those queries: {workers_cpu(gun.pid) - cpu0:.1f} s", flush=True)
        wall, cpu, out = timed_reindex(env, args.procs)
        print(f"reindex while serving: {out}; wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
        cpu0 = workers_cpu(gun.pid)
        report("after reindex", run_queries(port, second))
        print(f"server CPU for those queries: {workers_cpu(gun.pid) - cpu0:.1f} s", flush=True)
    finally:
        try:
            os.killpg(gun.pid, signal.SIGTERM)
            gun.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(gun.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
