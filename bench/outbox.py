"""Outbox drain benchmark (issue 9): how fast one drain empties a backlog, and two drains at once.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/outbox.py [--rows 5000] [--db sqlite|URL]

Queues ``--rows`` mail rows (memory backend: the cost measured is the outbox's, not an SMTP
server's) and ``--rows`` rows of a no-op topic, then times ``drain()`` for each, and a second
backlog drained by two threads at once (each row must be delivered exactly once). SQLite is a
file in a temporary directory; pass a PostgreSQL URL (an empty database) to measure there.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MARKET_ENV", "testing")

from market import create_app, outbox  # noqa: E402
from market.extensions import db  # noqa: E402
from market.notifications import mail  # noqa: E402
from models.base import Base  # noqa: E402


def queue(topic: str, n: int) -> None:
    for i in range(n):
        if topic == "mail":
            mail.queue_mail(f"user{i}@example.cn", "新的揭榜方案", "请评审：https://market.example.cn/deals/bids/1")
        else:
            outbox.enqueue(topic, {"n": i})
        if i % 1000 == 999:
            db.session.commit()
    db.session.commit()


def timed(label: str, n: int, work) -> None:
    started = time.perf_counter()
    delivered = work()
    took = time.perf_counter() - started
    print(f"{label:42} {delivered:>7} rows  {took:7.2f} s  {delivered / took:8.0f} rows/s")
    assert delivered == n, (delivered, n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/outbox.db" if args.db == "sqlite" else args.db
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": f"{tmp}/index"})
        seen: list[int] = []
        lock = threading.Lock()

        def noop(message):
            with lock:
                seen.append(message.payload["n"])

        outbox.register("bench.noop", noop)
        with app.app_context():
            Base.metadata.drop_all(db.engine)
            Base.metadata.create_all(db.engine)
            try:
                print(f"database: {db.engine.dialect.name}, batch {outbox.DEFAULTS['OUTBOX_BATCH']}")
                queue("mail", args.rows)
                timed("mail (memory backend), one drain", args.rows, lambda: outbox.drain(limit=10**9).delivered)
                assert len(mail.outbox) == args.rows
                queue("bench.noop", args.rows)
                timed("no-op topic, one drain", args.rows, lambda: outbox.drain(limit=10**9).delivered)
                seen.clear()
                queue("bench.noop", args.rows)

                def two_drains() -> int:
                    counts = [0, 0]

                    def run(i: int) -> None:
                        with app.app_context():
                            counts[i] = outbox.drain(limit=10**9).delivered

                    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                    print(f"  (split {counts[0]} + {counts[1]})")
                    return sum(counts)

                timed("no-op topic, two drains at once", args.rows, two_drains)
                assert sorted(seen) == list(range(args.rows)), "a row was delivered twice or not at all"
            finally:
                db.session.remove()
                Base.metadata.drop_all(db.engine)


if __name__ == "__main__":
    main()
