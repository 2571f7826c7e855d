#!/usr/bin/env python3
"""Run a command against a fresh, uniquely named PostgreSQL database, and drop it afterwards.

    python tools/with_pg_database.py -- python -m pytest -q

The database is created on the server of PG_SERVER_URL (default: the CI's trust-auth server,
postgresql://postgres@127.0.0.1:5432/test), passed to the command as TEST_DATABASE_URL, and
dropped when the command ends — whether it passed, failed or was interrupted. Exits with the
command's exit code.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import psycopg
from psycopg import sql

SERVER = os.environ.get("PG_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _terminate(signum, frame):  # turn SIGTERM into an exception so `finally` drops the database
    raise KeyboardInterrupt


def create_throwaway(admin: psycopg.Connection, name: str) -> None:
    """Create database ``name`` (on an autocommit connection) for tests: a commit need not wait for its WAL to
    reach the disk (2-3 ms a commit on this machine, thousands of commits a run). Visibility, locks and
    constraints are unchanged; only durability across a server crash is given up, which no test observes."""
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))


def drop(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    name = f"market_test_{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(SERVER, autocommit=True)
    except psycopg.OperationalError as err:
        print(f"cannot reach PostgreSQL at {SERVER}: {err}", file=sys.stderr)
        return 3
    signal.signal(signal.SIGTERM, _terminate)
    with admin:
        create_throwaway(admin, name)
        print(f"created database {name}", file=sys.stderr)
        try:
            info = admin.info
            url = f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
            if info.password:
                url = f"postgresql+psycopg://{info.user}:{info.password}@{info.host}:{info.port}/{name}"
            env = {**os.environ, "TEST_DATABASE_URL": url}
            return subprocess.call(argv, env=env)
        except KeyboardInterrupt:
            return 130
        finally:
            # and the databases the test workers made from it (tests/conftest.py), should a worker have died
            # before dropping its own
            workers = [row[0] for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (name.replace("_", r"\_") + r"\_%",))]
            for each in [*workers, name]:
                drop(admin, each)
                print(f"dropped database {each}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
