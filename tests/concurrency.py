"""Run one piece of work in many threads at once, each with its own app context, session and
connection, committing at the end as a view would, and sort the outcomes the way a web client would see them.

On SQLite the tests' database is a file (tests/conftest.py), so every thread really has its own
connection and SQLite's locking is what is tested; on PostgreSQL each thread has its own session.
"""

from __future__ import annotations

import threading
from collections import Counter

from market.errors import Conflict, DomainError
from market.extensions import db
from market.web import commit


def run_parallel(app, n: int, work, timeout: float = 120) -> list[tuple[str, object]]:
    """``work(i)`` in ``n`` threads released together. Each outcome is ``("ok", result)``,
    ``("conflict", message)`` (409), ``("refused", message)`` (another domain error: 4xx), or
    ``("error", repr)`` — what a view would have turned into a 500."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def target(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                result = work(i)
                commit()  # each thread is a request: its boundary commits (a late constraint is a 409)
                outcomes[i] = ("ok", result)
            except Conflict as err:
                db.session.rollback()
                outcomes[i] = ("conflict", err.message)
            except DomainError as err:
                db.session.rollback()
                outcomes[i] = ("refused", err.message)
            except Exception as err:  # noqa: BLE001 - reported by the callers' assertions
                db.session.rollback()
                outcomes[i] = ("error", repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert all(o is not None for o in outcomes), f"threads did not finish: {outcomes}"
    return outcomes


def tally(outcomes) -> Counter:
    return Counter(kind for kind, _value in outcomes)
